// a2a-js 1.3.0 client: sends TEXT with message/send and with message/stream and exits 0 only
// if both answers carry exactly EXPECTED (the send's reply text; the stream's artifact text,
// trailing newlines aside, and a completed task at the end).
// usage: node reply.mjs URL TEXT EXPECTED
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const [base, text, expected] = process.argv.slice(2);
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const msg = () => ({ tenant: '', configuration: undefined, metadata: undefined, message: {
  messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [],
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const txt = (parts = []) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const client = await factory.createFromUrl(base);
const r = await client.sendMessage(msg());
const sent = r.parts ? txt(r.parts) : txt(r.status?.message?.parts);
console.log('send ->', JSON.stringify(sent));
let streamed = '', last;
for await (const ev of client.sendMessageStream(msg())) {
  const p = ev.payload; if (!p) continue;
  if (p.$case === 'artifactUpdate') streamed += txt(p.value.artifact.parts);
  if (p.$case === 'task' || p.$case === 'statusUpdate') last = p.value.status.state;
  if (p.$case === 'message') { last = 'message'; streamed += txt(p.value.parts); }
}
streamed = streamed.replace(/\n+$/, '');
console.log('stream ->', JSON.stringify(streamed), last);
const ok = sent === expected && streamed === expected &&
  (last === TaskState.TASK_STATE_COMPLETED || last === 'message');
process.exit(ok ? 0 : 1);
