// The official MCP SDK client against a hosted agent's /mcp (Streamable HTTP), for
// route_task_to_team:
//   node route.mjs URL TOKEN MEMBER [absent]
// With MEMBER (a child workspace answered by an echo agent): tools/list offers
// route_task_to_team, a call without preferred_member_id lists MEMBER in the team, and a call
// with it returns the member's reply. With "absent" as the fourth argument the agent is no
// coordinator: tools/list must not offer the tool. Prints "ok route" or throws.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token, member, absent] = process.argv.slice(2);
if (!url || !token || !member) throw new Error('usage: route.mjs URL TOKEN MEMBER [absent]');

const client = new Client({ name: 'molecule-route', version: '1.0.0' });
await client.connect(new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
}));
const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
if (absent === 'absent') {
  assert.ok(!names.includes('route_task_to_team'), `no route_task_to_team: ${names}`);
} else {
  const route = tools.find((t) => t.name === 'route_task_to_team');
  assert.ok(route, `tools/list offers route_task_to_team: ${names}`);
  assert.deepEqual(route.inputSchema.required, ['task']);
  const call = async (args) => {
    const r = await client.callTool({ name: 'route_task_to_team', arguments: args });
    if (r.isError) throw new Error(`route_task_to_team: ${r.content[0].text}`);
    return r.content[0].text;
  };
  assert.match(await call({ task: 'who is there' }), new RegExp(member));
  assert.match(await call({ task: 'draft the summary', preferred_member_id: member }),
    /echo: draft the summary/);
}
await client.close();
console.log('ok route');
