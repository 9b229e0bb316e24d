// The official MCP SDK client calls every built-in MCP tool of `molecule mcp` (stdio) against a
// real `molecule platform --dev`, and checks each one's effect:
//   node builtins.mjs MOLECULE_BIN WS PEER
// WS is the workspace `molecule mcp` serves (PLATFORM_URL, WORKSPACE_ID, token in the
// environment); PEER a sibling answered by a real echo agent; one message for WS waits in its
// inbox. Prints "ok builtins" or throws.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [molecule, ws, peer] = process.argv.slice(2);
const MCP_SET = ['delegate_task', 'delegate_task_async', 'check_task_status', 'list_peers',
  'get_workspace_info', 'send_message_to_user', 'commit_memory', 'recall_memory',
  'wait_for_message', 'inbox_peek', 'inbox_pop'];

async function main() {
  const transport = new StdioClientTransport({ command: molecule, args: ['mcp'],
    env: { ...process.env }, stderr: 'inherit' });
  const client = new Client({ name: 'molecule-builtins', version: '1.0.0' });
  await client.connect(transport);
  const call = async (name, args = {}) => {
    const r = await client.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name}: ${r.content[0].text}`);
    return r.content[0].text;
  };

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of MCP_SET) assert.ok(names.includes(n), `tools/list has ${n}`);

  assert.equal(JSON.parse(await call('get_workspace_info')).id, ws);
  const peers = await call('list_peers');
  assert.match(peers, new RegExp(`echo-peer \\(ID: ${peer}, status: online`));

  assert.match(await call('commit_memory', { content: 'The launch colour is blue.' }), /"success": ?true/);
  assert.match(await call('recall_memory', { query: 'launch' }), /\[LOCAL\] The launch colour is blue\./);

  assert.equal(await call('send_message_to_user', { message: 'hello from mcp' }), 'Message sent to user');

  assert.match(await call('delegate_task', { workspace_id: peer, task: 'ping' }), /echo: ping/);

  const started = JSON.parse(await call('delegate_task_async', { workspace_id: peer, task: 'pong' }));
  assert.equal(started.status, 'delegated');
  let row;
  for (let i = 0; i < 200; i++) { // the platform runs it: read the ledger until it is done
    row = JSON.parse(await call('check_task_status', { task_id: started.delegation_id }));
    if (row.status === 'completed' || row.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(row.status, 'completed', JSON.stringify(row));
  assert.match(row.response_preview, /echo: pong/);

  const waited = JSON.parse(await call('wait_for_message', { timeout_secs: 30 }));
  assert.match(waited.message.text, /inbox hello/);
  const peeked = JSON.parse(await call('inbox_peek'));
  assert.equal(peeked.count, 1);
  assert.equal(peeked.messages[0].activity_id, waited.message.activity_id);
  const popped = JSON.parse(await call('inbox_pop', { activity_id: waited.message.activity_id }));
  assert.deepEqual([popped.removed, popped.remaining], [true, 0]);
  const none = await client.callTool({ name: 'inbox_pop', arguments: { activity_id: waited.message.activity_id } });
  assert.equal(none.isError, true, 'popping it twice is an error');

  const proc = transport._process;
  await client.close();
  if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
  assert.equal(proc.exitCode, 0);
  console.log('ok builtins');
}

main().catch((e) => {
  console.error('FAIL builtins:', e);
  process.exit(1);
});
