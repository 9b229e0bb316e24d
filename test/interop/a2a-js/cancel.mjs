// a2a-js 1.3.0 client: starts a task without waiting, reads it back, cancels it, and exits 0
// only if the server answers the cancel with a canceled task and a second cancel with an error.
// usage: node cancel.mjs URL [TEXT] (TEXT: what starts a long task, default 'cancel me')
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { Role, TaskState } from '@a2a-js/sdk';
const base = process.argv[2], text = process.argv[3] || 'cancel me';
const compat = { enabled: true };
const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ legacyCompat: compat })],
  cardResolver: new DefaultAgentCardResolver({ legacyCompat: compat }),
}));
const client = await factory.createFromUrl(base);
const r = await client.sendMessage({ tenant: '', metadata: undefined,
  configuration: { acceptedOutputModes: [], historyLength: 0, returnImmediately: true, taskPushNotificationConfig: undefined },
  message: { messageId: crypto.randomUUID(), role: Role.ROLE_USER, contextId: '', taskId: '', extensions: [], metadata: undefined,
    referenceTaskIds: [], parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }] } });
if (!r.id) { console.error('expected a task, got', r); process.exit(1); }
const got = await client.getTask({ tenant: '', id: r.id, historyLength: undefined });
if (got.id !== r.id) process.exit(1);
const c = await client.cancelTask({ tenant: '', id: r.id, metadata: undefined });
console.log('cancel ->', c.status.state);
if (c.status.state !== TaskState.TASK_STATE_CANCELED) process.exit(1);
try { await client.cancelTask({ tenant: '', id: r.id, metadata: undefined }); process.exit(1); }
catch (e) { console.log('second cancel refused:', e.message.slice(0, 80)); }
process.exit(0);
