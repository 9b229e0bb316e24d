// a2a-js 1.3.0 client (v1.0 with legacy compat) managing push-notification configs on an agent,
// with a webhook of its own that must hear the task end: create after a non-blocking send,
// get, list, the notification (token header, completed task), delete; then a config given
// inline with sendMessage. Exits 0 only if all of that holds.
// usage: node push.mjs URL
import http from 'node:http';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role } from '@a2a-js/sdk';
const [base] = process.argv.slice(2);
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };

// The webhook: records every POST; waiters resolve on a completed task at their path.
const hits = [], waiters = [];
const stateOf = (b) => (b.task || b).status?.state;
const hook = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let parsed = {};
    try { parsed = JSON.parse(body); } catch { fail('webhook body is not JSON', body); }
    hits.push({ path: req.url, token: req.headers['x-a2a-notification-token'], type: req.headers['content-type'], body: parsed });
    res.end('ok');
    for (const w of waiters) w();
  });
});
await new Promise((r) => hook.listen(0, '127.0.0.1', r));
const hookUrl = (p) => `http://127.0.0.1:${hook.address().port}${p}`;
const completed = (path) => new Promise((resolve) => {
  const check = () => { const h = hits.find((x) => x.path === path && stateOf(x.body) === 'TASK_STATE_COMPLETED'); if (h) resolve(h); };
  waiters.push(check);
  check();
});
const msg = (text, configuration) => ({ tenant: '', metadata: undefined, configuration, message: {
  messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined, referenceTaskIds: [],
  parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
const config = (extra) => ({ acceptedOutputModes: [], historyLength: undefined, returnImmediately: true, taskPushNotificationConfig: undefined, ...extra });

const client = await factory.createFromUrl(base);
const t = await client.sendMessage(msg('push me', config({})));
if (!t.id) fail('send: expected a Task', t);
const created = await client.createTaskPushNotificationConfig({ tenant: '', id: 'cfg-js', taskId: t.id, url: hookUrl('/a'), token: 'tok-js', authentication: undefined });
expect('create id', created.id, 'cfg-js');
expect('create url', created.url, hookUrl('/a'));
const got = await client.getTaskPushNotificationConfig({ tenant: '', taskId: t.id, id: 'cfg-js' });
expect('get token', got.token, 'tok-js');
const list = await client.listTaskPushNotificationConfig({ tenant: '', taskId: t.id, pageSize: 0, pageToken: '' });
expect('list size', list.configs.length, 1);
const h = await completed('/a');
expect('notification token', h.token, 'tok-js');
expect('notification task', h.body.task.id, t.id);
await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: t.id, id: 'cfg-js' });
const after = await client.listTaskPushNotificationConfig({ tenant: '', taskId: t.id, pageSize: 0, pageToken: '' });
expect('list after delete', (after.configs || []).length, 0);
const inline = { tenant: '', id: '', taskId: '', url: hookUrl('/b'), token: 'tok-inline', authentication: undefined };
const t2 = await client.sendMessage(msg('inline', config({ taskPushNotificationConfig: inline })));
const h2 = await completed('/b');
expect('inline token', h2.token, 'tok-inline');
expect('inline task', h2.body.task.id, t2.id);
hook.close();
console.log('push ok:', hits.length, 'notifications');
process.exit(0);
