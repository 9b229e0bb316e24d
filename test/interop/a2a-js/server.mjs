import express from 'express';
import { AGENT_CARD_PATH, A2A_PROTOCOL_VERSION, TaskState, Role } from '@a2a-js/sdk';
import { DefaultRequestHandler, InMemoryTaskStore, InMemoryPushNotificationStore, AgentEvent } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import { createLegacyAwarePushNotificationSender } from '@a2a-js/sdk/compat/v0_3/server';

const PORT = Number(process.env.PORT || 41241), MODE = process.env.MODE || 'task';
const PUSH = process.env.PUSH === '1'; // push notifications on, each config served in its own wire version
const base = process.env.PUBLIC_URL || `http://127.0.0.1:${PORT}`;
const textPart = (t) => ({ content: { $case: 'text', value: t }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const now = () => new Date().toISOString();
const card = {
  name: 'js-echo', description: 'a2a-js echo peer', version: '1.0.0',
  supportedInterfaces: duplicateInterfacesForLegacy(
    [{ url: `${base}/`, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION }], ['JSONRPC']),
  capabilities: { streaming: true, pushNotifications: PUSH, extensions: [], extendedAgentCard: false },
  securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
  skills: [{ id: 'echo', name: 'Echo', description: 'echoes text', tags: ['echo'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
  documentationUrl: '', signatures: [],
};
class Echo {
  cancelTask = async () => {};
  async execute(ctx, bus) {
    const { taskId, contextId, userMessage } = ctx;
    const p = userMessage.parts.find((x) => x.content?.$case === 'text');
    const reply = 'echo: ' + (p ? p.content.value : '');
    if (MODE === 'message') {
      bus.publish(AgentEvent.message({ messageId: crypto.randomUUID(), role: Role.ROLE_AGENT, parts: [textPart(reply)],
        contextId, taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [] }));
      return;
    }
    if (!ctx.task) bus.publish(AgentEvent.task({ id: taskId, contextId, status: { state: TaskState.TASK_STATE_SUBMITTED, timestamp: now(), message: undefined }, artifacts: [], history: [userMessage], metadata: undefined }));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state: TaskState.TASK_STATE_WORKING, timestamp: now(), message: undefined }, metadata: undefined }));
    bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, append: false, lastChunk: true, metadata: undefined,
      artifact: { artifactId: crypto.randomUUID(), name: 'reply', description: '', parts: [textPart(reply)], metadata: undefined, extensions: [] } }));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state: TaskState.TASK_STATE_COMPLETED, timestamp: now(), message: undefined }, metadata: undefined }));
  }
}
const pushStore = PUSH ? new InMemoryPushNotificationStore() : undefined;
const rh = new DefaultRequestHandler(card, new InMemoryTaskStore(), new Echo(), undefined, pushStore,
  PUSH ? createLegacyAwarePushNotificationSender(pushStore) : undefined);
const app = express();
app.use(`/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: rh, legacyCompat: { enabled: true } }));
app.use(jsonRpcHandler({ requestHandler: rh, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }));
app.listen(PORT, '127.0.0.1', () => console.log(`a2a-js peer on ${base}`));
