import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const base = process.argv[2] || 'http://127.0.0.1:41241', text = process.argv[3] || 'hello from a2a-js';
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const msg = () => ({ tenant: '', configuration: undefined, metadata: undefined, message: {
  messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [],
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const txt = (parts = []) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const client = await factory.createFromUrl(base);            // GET <base>/.well-known/agent-card.json
const r = await client.sendMessage(msg());                     // message/send (v0.3 card) or SendMessage (v1 card)
let ok1 = !(r.id && r.status) || r.status.state === TaskState.TASK_STATE_COMPLETED;
if (r.id && r.status) await client.getTask({ tenant: '', id: r.id, historyLength: undefined });
let last;
for await (const ev of client.sendMessageStream(msg())) {     // message/stream or SendStreamingMessage (SSE)
  const p = ev.payload; if (!p) continue;
  if (p.$case === 'task' || p.$case === 'statusUpdate') last = p.value.status.state;
  if (p.$case === 'message') last = 'message';
  console.log('stream:', p.$case, p.$case === 'artifactUpdate' ? txt(p.value.artifact.parts) : last);
}
const ok = ok1 && (last === TaskState.TASK_STATE_COMPLETED || last === 'message');
process.exit(ok ? 0 : 1);
