// The official MCP SDK client calls every built-in MCP tool against a real
// `molecule platform --dev`, over either transport, and checks each one's effect:
//   node builtins.mjs stdio MOLECULE_BIN WS PEER   (spawns `molecule mcp`; PLATFORM_URL,
//                                                    WORKSPACE_ID and the token in the environment)
//   node builtins.mjs http URL TOKEN WS PEER       (Streamable HTTP at URL, the /mcp endpoint of a
//                                                    `molecule host` agent registered as WS; bearer
//                                                    TOKEN; a wrong bearer must get 401)
// WS is the workspace served; PEER a sibling answered by a real echo agent; one message for WS
// waits in its inbox (not yet popped by this server's inbox). Prints "ok builtins <mode>" or
// throws.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [mode, ...rest] = process.argv.slice(2);
if (mode !== 'stdio' && mode !== 'http') {
  throw new Error('usage: builtins.mjs stdio MOLECULE_BIN WS PEER | http URL TOKEN WS PEER');
}
const [target, token, ws, peer] = mode === 'stdio' ? [rest[0], null, rest[1], rest[2]] : rest;
const MCP_SET = ['delegate_task', 'delegate_task_async', 'check_task_status', 'list_peers',
  'get_workspace_info', 'send_message_to_user', 'commit_memory', 'recall_memory',
  'wait_for_message', 'inbox_peek', 'inbox_pop'];

function transportFor(bearer) {
  if (mode === 'stdio') {
    return new StdioClientTransport({ command: target, args: ['mcp'], env: { ...process.env },
                                      stderr: 'inherit' });
  }
  return new StreamableHTTPClientTransport(new URL(target), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
}

// A wrong bearer is refused before anything runs: initialize fails with HTTP 401.
async function wrongBearerRefused() {
  const client = new Client({ name: 'molecule-builtins-intruder', version: '1.0.0' });
  await assert.rejects(client.connect(transportFor(`${token}x`)),
    (e) => e instanceof StreamableHTTPError && e.code === 401, 'a wrong bearer gets 401');
}

async function main() {
  if (mode === 'http') await wrongBearerRefused();
  const transport = transportFor(token);
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

  // Each transport commits a memory of its own, so the recall shows this run's write.
  const fact = `The ${mode} launch colour is blue.`;
  assert.match(await call('commit_memory', { content: fact }), /"success": ?true/);
  assert.ok((await call('recall_memory', { query: 'launch' })).split('\n').includes(`[LOCAL] ${fact}`),
            'recall_memory finds this run\'s memory');

  assert.equal(await call('send_message_to_user', { message: `hello from mcp over ${mode}` }),
               'Message sent to user');

  assert.match(await call('delegate_task', { workspace_id: peer, task: `ping ${mode}` }),
               new RegExp(`echo: ping ${mode}`));

  const started = JSON.parse(await call('delegate_task_async', { workspace_id: peer, task: `pong ${mode}` }));
  assert.equal(started.status, 'delegated');
  let row;
  for (let i = 0; i < 200; i++) { // the platform runs it: read the ledger until it is done
    row = JSON.parse(await call('check_task_status', { task_id: started.delegation_id }));
    if (row.status === 'completed' || row.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(row.status, 'completed', JSON.stringify(row));
  assert.match(row.response_preview, new RegExp(`echo: pong ${mode}`));

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
  if (proc) { // stdio: the server exits cleanly once its input ends
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    assert.equal(proc.exitCode, 0);
  }
  console.log(`ok builtins ${mode}`);
}

main().catch((e) => {
  console.error(`FAIL builtins ${mode}:`, e);
  process.exit(1);
});
