// A pass-through HTTP proxy that adds "Authorization: Bearer TOKEN" to every request, so that
// the MCP conformance suite (which sends no credentials) can test molecule's /mcp, which
// always wants the workspace bearer. Everything else (method, path, Host, Origin, the body,
// streamed responses) passes unchanged, so the suite still sees our own statuses and headers.
//   node auth-proxy.mjs TARGET_PORT TOKEN    -> prints "listening PORT" once ready
import http from 'node:http';

const [targetPort, token] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  const up = http.request({ host: '127.0.0.1', port: Number(targetPort), method: req.method,
                            path: req.url, headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
  res.on('close', () => up.destroy());
  req.pipe(up);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
