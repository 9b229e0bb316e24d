// a2a-js 1.3.0 client against an echo agent: card, send, get, stream. Exits 0 only if every
// answer carries exactly "echo: TEXT", with consistent ids and the states the agent's MODE
// promises: "message" (send answers with a Message; a stream carries the Task, then its
// completed status whose message is the reply), "task" (a Task: submitted -> working ->
// artifact -> completed). Every event of a stream is on the first event's ids.
// usage: node client.mjs URL TEXT MODE
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const [base, text, mode] = process.argv.slice(2);
const want = 'echo: ' + text;
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const msg = () => ({ tenant: '', configuration: undefined, metadata: undefined, message: {
  messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [],
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const txt = (parts = []) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const arts = (task) => (task.artifacts || []).map((a) => txt(a.parts)).join('');
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };

const client = await factory.createFromUrl(base);                // GET <base>/.well-known/agent-card.json
const r = await client.sendMessage(msg());                       // message/send
if (mode === 'message') {
  if (!r.parts || r.status) fail('send: expected a Message', r);
  expect('send text', txt(r.parts), want);
  expect('send role', r.role, Role.ROLE_AGENT);
} else {
  if (!r.id || !r.status) fail('send: expected a Task', r);
  expect('send state', r.status.state, TaskState.TASK_STATE_COMPLETED);
  expect('send artifact', arts(r), want);
  const got = await client.getTask({ tenant: '', id: r.id, historyLength: undefined });
  expect('get id', got.id, r.id);
  expect('get contextId', got.contextId, r.contextId);
  expect('get state', got.status.state, TaskState.TASK_STATE_COMPLETED);
  expect('get artifact', arts(got), want);
}
const seen = [];
let taskId, contextId, streamed = '';
for await (const ev of client.sendMessageStream(msg())) {       // message/stream (SSE)
  const p = ev.payload; if (!p) continue;
  seen.push(p.$case);
  if (p.$case === 'message') { streamed += txt(p.value.parts); continue; }
  const ids = p.$case === 'task' ? [p.value.id, p.value.contextId] : [p.value.taskId, p.value.contextId];
  if (!taskId) [taskId, contextId] = ids;
  expect(`${p.$case} taskId`, ids[0], taskId);
  expect(`${p.$case} contextId`, ids[1], contextId);
  if (p.$case === 'task') expect('first event state', p.value.status.state, TaskState.TASK_STATE_SUBMITTED);
  if (p.$case === 'statusUpdate') seen[seen.length - 1] += ':' + p.value.status.state;
  if (p.$case === 'statusUpdate' && p.value.status.message) streamed += txt(p.value.status.message.parts);
  if (p.$case === 'artifactUpdate') streamed += txt(p.value.artifact.parts);
}
console.log('stream:', seen.join(' '), JSON.stringify(streamed));
expect('stream text', streamed, want);
expect('stream events', seen.join(' '), mode === 'message' ? `task statusUpdate:${TaskState.TASK_STATE_COMPLETED}`
  : `task statusUpdate:${TaskState.TASK_STATE_WORKING} artifactUpdate statusUpdate:${TaskState.TASK_STATE_COMPLETED}`);
process.exit(0);
