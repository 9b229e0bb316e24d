// Pure v0.3 peer server on @a2a-js/sdk@0.3.14. PORT defaults to 41242; MODE=message replies
// with a bare Message (Molecule style), otherwise it runs a Task lifecycle.
import express from 'express';
import { AGENT_CARD_PATH } from '@a2a-js/sdk';
import { DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { A2AExpressApp } from '@a2a-js/sdk/server/express';

const PORT = Number(process.env.PORT || 41242), MODE = process.env.MODE || 'task';
const PUSH = process.env.PUSH === '1'; // push notifications on (the SDK's own store and sender)
const base = process.env.PUBLIC_URL || `http://127.0.0.1:${PORT}`;
const now = () => new Date().toISOString();
const card = {
  name: 'js-echo-03', description: 'a2a-js 0.3 echo peer', version: '1.0.0', protocolVersion: '0.3.0',
  url: `${base}/`, preferredTransport: 'JSONRPC',
  capabilities: { streaming: true, pushNotifications: PUSH },
  defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'],
  skills: [{ id: 'echo', name: 'Echo', description: 'echoes text', tags: ['echo'] }],
};
class Echo {
  cancelTask = async (taskId, bus) => {
    bus.publish({ kind: 'status-update', taskId, contextId: '', status: { state: 'canceled', timestamp: now() }, final: true });
    bus.finished();
  };
  async execute(ctx, bus) {
    const { taskId, contextId, userMessage } = ctx;
    const p = userMessage.parts.find((x) => x.kind === 'text');
    const reply = 'echo: ' + (p ? p.text : '');
    if (MODE === 'message') {
      bus.publish({ kind: 'message', messageId: crypto.randomUUID(), role: 'agent', parts: [{ kind: 'text', text: reply }], contextId });
      bus.finished();
      return;
    }
    if (!ctx.task) bus.publish({ kind: 'task', id: taskId, contextId, status: { state: 'submitted', timestamp: now() }, history: [userMessage], artifacts: [] });
    bus.publish({ kind: 'status-update', taskId, contextId, status: { state: 'working', timestamp: now() }, final: false });
    bus.publish({ kind: 'artifact-update', taskId, contextId, append: false, lastChunk: true,
      artifact: { artifactId: crypto.randomUUID(), name: 'reply', parts: [{ kind: 'text', text: reply }] } });
    bus.publish({ kind: 'status-update', taskId, contextId, status: { state: 'completed', timestamp: now() }, final: true });
    bus.finished();
  }
}
const rh = new DefaultRequestHandler(card, new InMemoryTaskStore(), new Echo());
const app = new A2AExpressApp(rh).setupRoutes(express());
app.listen(PORT, '127.0.0.1', () => console.log(`a2a-js 0.3 peer on ${base} (card at /${AGENT_CARD_PATH})`));
