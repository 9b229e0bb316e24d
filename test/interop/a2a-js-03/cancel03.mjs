// a2a-js 0.3.14 client: a non-blocking send, get, cancel (canceled), cancel again (error).
import { ClientFactory } from '@a2a-js/sdk/client';
const base = process.argv[2];
const client = await new ClientFactory().createFromUrl(base);
const r = await client.sendMessage({ configuration: { blocking: false },
  message: { kind: 'message', role: 'user', messageId: crypto.randomUUID(), parts: [{ kind: 'text', text: 'cancel me' }] } });
if (r.kind !== 'task') { console.error('expected a task, got', r); process.exit(1); }
const got = await client.getTask({ id: r.id });
if (got.id !== r.id) process.exit(1);
const c = await client.cancelTask({ id: r.id });
console.log('cancel ->', c.status.state);
if (c.status.state !== 'canceled') process.exit(1);
try { await client.cancelTask({ id: r.id }); process.exit(1); }
catch (e) { console.log('second cancel refused:', String(e.message).slice(0, 80)); }
process.exit(0);
