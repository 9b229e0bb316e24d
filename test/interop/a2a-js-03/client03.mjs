// a2a-js 0.3.14 client against an echo agent: send, get, stream. Exits 0 only if every answer
// carries exactly "echo: TEXT" with consistent ids and the states MODE promises ("message" or
// "task"; see ../a2a-js/client.mjs: a reply Message reaches a stream as the completed status's
// message).
// usage: node client03.mjs URL TEXT MODE
import { ClientFactory } from '@a2a-js/sdk/client';
const [base, text, mode] = process.argv.slice(2);
const want = 'echo: ' + text;
const msg = () => ({ message: { kind: 'message', role: 'user', messageId: crypto.randomUUID(), parts: [{ kind: 'text', text }] } });
const txt = (parts = []) => parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');
const arts = (task) => (task.artifacts || []).map((a) => txt(a.parts)).join('');
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };

const client = await new ClientFactory().createFromUrl(base);
const r = await client.sendMessage(msg());                         // Task | Message (plain v0.3 JSON)
if (mode === 'message') {
  expect('send kind', r.kind, 'message');
  expect('send text', txt(r.parts), want);
  expect('send role', r.role, 'agent');
} else {
  expect('send kind', r.kind, 'task');
  expect('send state', r.status.state, 'completed');
  expect('send artifact', arts(r), want);
  const got = await client.getTask({ id: r.id });
  expect('get id', got.id, r.id);
  expect('get contextId', got.contextId, r.contextId);
  expect('get state', got.status.state, 'completed');
  expect('get artifact', arts(got), want);
}
const seen = [];
let taskId, contextId, streamed = '', last;
for await (const ev of client.sendMessageStream(msg())) {
  last = ev;
  if (ev.kind === 'message') { seen.push('message'); streamed += txt(ev.parts); continue; }
  const ids = ev.kind === 'task' ? [ev.id, ev.contextId] : [ev.taskId, ev.contextId];
  if (!taskId) [taskId, contextId] = ids;
  expect(`${ev.kind} taskId`, ids[0], taskId);
  expect(`${ev.kind} contextId`, ids[1], contextId);
  seen.push(ev.kind === 'status-update' ? `status-update:${ev.status.state}` : ev.kind === 'task' ? `task:${ev.status.state}` : ev.kind);
  if (ev.kind === 'artifact-update') streamed += txt(ev.artifact.parts);
  if (ev.kind === 'status-update' && ev.status.message) streamed += txt(ev.status.message.parts);
}
console.log('stream:', seen.join(' '), JSON.stringify(streamed));
expect('stream text', streamed, want);
expect('stream events', seen.join(' '), mode === 'message' ? 'task:submitted status-update:completed'
  : 'task:submitted status-update:working artifact-update status-update:completed');
if (!last.final) fail('last event not final', last);
process.exit(0);
