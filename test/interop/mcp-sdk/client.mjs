// The official MCP TypeScript SDK client against molecule's MCP server, over either transport:
//   node client.mjs stdio MOLECULE_BIN   (spawns `molecule mcp`; the environment passes through)
//   node client.mjs http URL TOKEN       (Streamable HTTP, bearer TOKEN)
// The server must expose the diagnostic tools (MOLECULE_MCP_TEST_TOOLS=1). Checks initialize,
// tools/list, tools/call (a result, a tool error, an unknown tool), concurrent calls answered in
// completion order, a cancel that stops the tool, and ping. Prints "ok <transport>" or throws.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const [mode, target, token] = process.argv.slice(2);

function transportFor() {
  if (mode === 'stdio') {
    return new StdioClientTransport({ command: target, args: ['mcp'], env: { ...process.env },
                                      stderr: 'inherit' });
  }
  if (mode === 'http') {
    return new StreamableHTTPClientTransport(new URL(target), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
  }
  throw new Error('usage: client.mjs stdio MOLECULE_BIN | http URL TOKEN');
}

const text = (r) => r.content[0].text;

async function running(client) {
  return text(await client.callTool({ name: 'running', arguments: {} }));
}

// Asks until `running` says want: a readiness signal, bounded in count, no sleeps.
async function waitRunning(client, want) {
  for (let i = 0; i < 500; i++) if ((await running(client)) === want) return;
  throw new Error(`running never became ${want}`);
}

async function main() {
  const transport = transportFor();
  const client = new Client({ name: 'molecule-interop', version: '1.0.0' });
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, 'molecule');
  assert.ok(client.getServerCapabilities().tools, 'tools capability');
  if (mode === 'http') {
    assert.equal(transport.protocolVersion, LATEST_PROTOCOL_VERSION);
    assert.ok(transport.sessionId, 'a session id');
  }

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['echo', 'add', 'slow', 'running', 'fail']) assert.ok(names.includes(n), n);
  for (const t of tools) assert.equal(t.inputSchema.type, 'object');

  assert.equal(text(await client.callTool({ name: 'echo', arguments: { text: 'hi ✓ ünïcode' } })),
               'hi ✓ ünïcode');
  assert.equal(text(await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } })), '42');

  const failed = await client.callTool({ name: 'fail', arguments: { message: 'it broke' } });
  assert.equal(failed.isError, true);
  assert.equal(text(failed), 'it broke');
  const badArgs = await client.callTool({ name: 'echo', arguments: { text: 7 } });
  assert.equal(badArgs.isError, true, 'arguments that do not fit the schema: a tool error');

  await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }),
                       (e) => e.code === -32602 && /Unknown tool/.test(e.message));

  // Concurrent: the quick call is answered while the slow one still runs.
  const order = [];
  await Promise.all([
    client.callTool({ name: 'slow', arguments: { ms: 300 } }).then(() => order.push('slow')),
    waitRunning(client, '1')
      .then(() => client.callTool({ name: 'echo', arguments: { text: 'quick' } }))
      .then(() => order.push('quick')),
  ]);
  assert.deepEqual(order, ['quick', 'slow']);

  // Cancel: the SDK sends notifications/cancelled; the tool stops for real.
  const abort = new AbortController();
  const pending = client.callTool({ name: 'slow', arguments: {} }, undefined,
                                  { signal: abort.signal, timeout: 600000 });
  await waitRunning(client, '1');
  abort.abort('no longer needed');
  await assert.rejects(pending);
  await waitRunning(client, '0');

  assert.deepEqual(await client.ping(), {});

  if (mode === 'stdio') {
    const proc = transport._process;
    await client.close(); // closes stdin: the server drains and exits on its own
    if (proc.exitCode === null) await new Promise((r) => proc.once('exit', r));
    assert.equal(proc.exitCode, 0, 'molecule mcp exits 0 at the end of its input');
  } else {
    await transport.terminateSession();
    await client.close();
  }
  console.log(`ok ${mode}`);
}

main().catch((e) => {
  console.error(`FAIL ${mode}:`, e);
  process.exit(1);
});
