// a2a-js 1.3.0 client against examples/agent.c: "countdown N" sent and streamed. Exits 0 only
// if the send answers with a completed Task whose artifact is the whole countdown, and the
// stream carries the Task, its working status, one artifact chunk per line (the first starting
// the artifact, the others appended, the last closing it) and the completed status, all on the
// first event's ids.
// usage: node countdown.mjs URL N
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const [base, n] = process.argv.slice(2);
const lines = [];
for (let i = Number(n); i > 0; i--) lines.push(`${i}\n`);
lines.push('liftoff\n');
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const msg = () => ({ tenant: '', configuration: undefined, metadata: undefined, message: {
  messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [],
  parts: [{ content: { $case: 'text', value: `countdown ${n}` }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const txt = (parts = []) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };

const client = await factory.createFromUrl(base);
const r = await client.sendMessage(msg());
if (!r.id || !r.status) fail('send: expected a Task', r);
expect('send state', r.status.state, TaskState.TASK_STATE_COMPLETED);
expect('send artifact', (r.artifacts || []).map((a) => txt(a.parts)).join(''), lines.join(''));
const seen = [];
let taskId, contextId, chunk = 0;
for await (const ev of client.sendMessageStream(msg())) {
  const p = ev.payload; if (!p) continue;
  const ids = p.$case === 'task' ? [p.value.id, p.value.contextId] : [p.value.taskId, p.value.contextId];
  if (!taskId) [taskId, contextId] = ids;
  expect(`${p.$case} taskId`, ids[0], taskId);
  expect(`${p.$case} contextId`, ids[1], contextId);
  if (p.$case === 'statusUpdate') seen.push('status:' + p.value.status.state);
  else if (p.$case === 'artifactUpdate') {
    expect(`chunk ${chunk}`, txt(p.value.artifact.parts), lines[chunk]);
    expect(`chunk ${chunk} append`, !!p.value.append, chunk > 0);
    expect(`chunk ${chunk} lastChunk`, !!p.value.lastChunk, chunk === lines.length - 1);
    chunk++;
    seen.push('artifact');
  } else seen.push(p.$case);
}
console.log('stream:', seen.join(' '));
expect('stream events', seen.join(' '), ['task', `status:${TaskState.TASK_STATE_WORKING}`,
  ...lines.map(() => 'artifact'), `status:${TaskState.TASK_STATE_COMPLETED}`].join(' '));
process.exit(0);
