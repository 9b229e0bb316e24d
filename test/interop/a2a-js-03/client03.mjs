import { ClientFactory } from '@a2a-js/sdk/client';
const base = process.argv[2], text = process.argv[3] || 'hello';
const msg = () => ({ message: { kind: 'message', role: 'user', messageId: crypto.randomUUID(), parts: [{ kind: 'text', text }] } });
const client = await new ClientFactory().createFromUrl(base);
const r = await client.sendMessage(msg());                          // Task | Message (plain v0.3 JSON)
let last; for await (const ev of client.sendMessageStream(msg())) last = ev;
process.exit((last?.kind === 'status-update' && last.final && last.status.state === 'completed') || last?.kind === 'message' ? 0 : 1);
