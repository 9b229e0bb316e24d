// One delegation tool call through the official MCP SDK client, for the restart tests: the
// caller of a delegation is a hosted agent's /mcp, killed and restarted between two calls.
//   node delegation.mjs URL TOKEN async PEER TASK   -> prints delegate_task_async's answer
//   node delegation.mjs URL TOKEN sync PEER TASK    -> prints delegate_task's answer (waits)
//   node delegation.mjs URL TOKEN check [ID]        -> prints check_task_status's answer
//   node delegation.mjs URL TOKEN wait ID           -> asks check_task_status until the
//                                                      delegation is completed or failed
//   node delegation.mjs URL TOKEN wait-list REPLY   -> lists until a completed delegation's
//                                                      response_preview is REPLY
// A wait prints the last answer, and exits 1 when 400 checks 50 ms apart did not see the end.
// A tool error (isError) is printed to stderr and exits 1.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token, verb, ...rest] = process.argv.slice(2);
const calls = {
  async: () => ['delegate_task_async', { workspace_id: rest[0], task: rest[1] }],
  sync: () => ['delegate_task', { workspace_id: rest[0], task: rest[1] }],
  check: () => ['check_task_status', rest[0] ? { task_id: rest[0] } : {}],
  wait: () => ['check_task_status', { task_id: rest[0] }],
  'wait-list': () => ['check_task_status', {}],
};
const ended = {
  wait: (v) => v.status === 'completed' || v.status === 'failed',
  'wait-list': (v) => (v.delegations || []).some((r) => r.status === 'completed' &&
                                                       r.response_preview === rest[0]),
};
if (!url || !token || !calls[verb]) {
  throw new Error('usage: delegation.mjs URL TOKEN async|sync PEER TASK | check [ID]');
}
const client = new Client({ name: 'molecule-delegation', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
}));
const [name, args] = calls[verb]();
let r;
for (let i = 0; ; i++) {
  r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600000 });
  if (r.isError || !ended[verb] || ended[verb](JSON.parse(r.content[0].text))) break;
  if (i === 400) {
    process.stderr.write(`${name}: not ended after ${i} checks: ${r.content[0].text}\n`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await client.close();
if (r.isError) {
  process.stderr.write(`${name}: ${r.content[0].text}\n`);
  process.exit(1);
}
process.stdout.write(`${r.content[0].text}\n`);
