// a2a-js 0.3.14 client (pure v0.3) managing push-notification configs on an agent, with a
// webhook of its own that must hear the task end: set after a non-blocking send, get, list,
// the notification (token header, the completed Task), delete; then a config given inline with
// message/send. Exits 0 only if all of that holds.
// usage: node push03.mjs URL
import http from 'node:http';
import { ClientFactory } from '@a2a-js/sdk/client';
const [base] = process.argv.slice(2);
const fail = (what, got) => { console.error('FAIL', what, JSON.stringify(got)); process.exit(1); };
const expect = (what, got, exp) => { if (got !== exp) fail(`${what}: expected ${JSON.stringify(exp)}, got`, got); };

const hits = [], waiters = [];
const hook = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    let parsed = {};
    try { parsed = JSON.parse(body); } catch { fail('webhook body is not JSON', body); }
    hits.push({ path: req.url, token: req.headers['x-a2a-notification-token'], body: parsed });
    res.end('ok');
    for (const w of waiters) w();
  });
});
await new Promise((r) => hook.listen(0, '127.0.0.1', r));
const hookUrl = (p) => `http://127.0.0.1:${hook.address().port}${p}`;
const completed = (path) => new Promise((resolve) => {
  const check = () => { const h = hits.find((x) => x.path === path && x.body.status?.state === 'completed'); if (h) resolve(h); };
  waiters.push(check);
  check();
});
const msg = (text, configuration) => ({ configuration, message: { kind: 'message', role: 'user', messageId: crypto.randomUUID(), parts: [{ kind: 'text', text }] } });

const client = await new ClientFactory().createFromUrl(base);
const t = await client.sendMessage(msg('push me', { blocking: false }));
expect('send kind', t.kind, 'task');
const set = await client.setTaskPushNotificationConfig({ taskId: t.id, pushNotificationConfig: { id: 'cfg-03', url: hookUrl('/a'), token: 'tok-03' } });
expect('set id', set.pushNotificationConfig.id, 'cfg-03');
const got = await client.getTaskPushNotificationConfig({ id: t.id, pushNotificationConfigId: 'cfg-03' });
expect('get url', got.pushNotificationConfig.url, hookUrl('/a'));
const list = await client.listTaskPushNotificationConfig({ id: t.id });
expect('list size', list.length, 1);
const h = await completed('/a');
expect('notification token', h.token, 'tok-03');
expect('notification kind', h.body.kind, 'task');
expect('notification task', h.body.id, t.id);
await client.deleteTaskPushNotificationConfig({ id: t.id, pushNotificationConfigId: 'cfg-03' });
expect('list after delete', (await client.listTaskPushNotificationConfig({ id: t.id })).length, 0);
const t2 = await client.sendMessage(msg('inline', { blocking: false, pushNotificationConfig: { url: hookUrl('/b'), token: 'tok-inline' } }));
const h2 = await completed('/b');
expect('inline token', h2.token, 'tok-inline');
expect('inline task', h2.body.id, t2.id);
hook.close();
console.log('push ok:', hits.length, 'notifications');
process.exit(0);
