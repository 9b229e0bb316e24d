// a2a-js 1.3.0 client over the HTTP+JSON (REST) binding only, against an agent in task mode:
// card, send, get, stream, cancel of a running task (answered, or refused once it ended),
// and the push-config routes. Exits 0 only if every answer is what the spec says.
// usage: node rest.mjs URL
import { ClientFactory, ClientFactoryOptions, RestTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const [base] = process.argv.slice(2);
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new RestTransportFactory()],
}));
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };
const msg = (text, returnImmediately = false) => ({ tenant: '', metadata: undefined,
  configuration: { acceptedOutputModes: [], historyLength: undefined, returnImmediately, taskPushNotificationConfig: undefined },
  message: { messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined,
    referenceTaskIds: [], parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const txt = (parts = []) => parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');

const client = await factory.createFromUrl(base);
const t = await client.sendMessage(msg('over rest'));
expect('send state', t.status.state, TaskState.TASK_STATE_COMPLETED);
expect('send artifact', txt(t.artifacts[0].parts), 'echo: over rest');
const got = await client.getTask({ tenant: '', id: t.id, historyLength: 0 });
expect('get id', got.id, t.id);
expect('get history', got.history.length, 0);
let last, n = 0;
for await (const ev of client.sendMessageStream(msg('streamed'))) {
  n++;
  const p = ev.payload;
  if (p.$case === 'task' || p.$case === 'statusUpdate') last = p.value.status.state;
}
expect('stream events', n, 4);
expect('stream end', last, TaskState.TASK_STATE_COMPLETED);
const running = await client.sendMessage(msg('to cancel', true));
const canceled = await client.cancelTask({ tenant: '', id: running.id, metadata: undefined });
expect('cancel', canceled.status.state, TaskState.TASK_STATE_CANCELED);
let refused = false;
try { await client.cancelTask({ tenant: '', id: running.id, metadata: undefined }); } catch (e) { refused = e.name === 'TaskNotCancelableError'; }
expect('cancel again refused as TaskNotCancelableError', refused, true);
let missing = false;
try { await client.getTask({ tenant: '', id: 'nope', historyLength: undefined }); } catch (e) { missing = e.name === 'TaskNotFoundError'; }
expect('unknown task is TaskNotFoundError', missing, true);
const cfg = await client.createTaskPushNotificationConfig({ tenant: '', id: 'c1', taskId: t.id, url: 'http://127.0.0.1:9/hook', token: 'tk', authentication: undefined });
expect('create', cfg.id, 'c1');
expect('get config', (await client.getTaskPushNotificationConfig({ tenant: '', taskId: t.id, id: 'c1' })).token, 'tk');
expect('list configs', (await client.listTaskPushNotificationConfig({ tenant: '', taskId: t.id, pageSize: 0, pageToken: '' })).configs.length, 1);
await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: t.id, id: 'c1' });
console.log('rest ok');
process.exit(0);
