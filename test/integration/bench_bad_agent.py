#!/usr/bin/env python3
"""A deliberately wrong A2A agent for test_cli_bench.sh: every POST is answered fast and
wrongly, the way the URL path says, so the load generator must count each answer as an error.
  /wrong-id      a valid Message whose JSON-RPC id is not the request's
  /not-json      200 with a body that is not JSON
  /user-role     a Message from role "user"
  /http-500      status 500
  /rpc-error     a JSON-RPC error (-32603) echoing the id
  /working-task  a blocking send answered with a task still working
  /good          a correct Message (the control)
Prints "listening on 127.0.0.1:PORT" once it accepts connections; keep-alive HTTP/1.1, many threads."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        rid = req.get('id')
        msg = {'kind': 'message', 'messageId': 'm', 'role': 'agent',
               'parts': [{'kind': 'text', 'text': 'hi'}], 'contextId': 'c'}
        status, body = 200, None
        path = self.path
        if path == '/wrong-id':
            body = {'jsonrpc': '2.0', 'id': 'nope', 'result': msg}
        elif path == '/not-json':
            body = 'this is not json'
        elif path == '/user-role':
            body = {'jsonrpc': '2.0', 'id': rid, 'result': dict(msg, role='user')}
        elif path == '/http-500':
            status, body = 500, 'internal error'
        elif path == '/rpc-error':
            body = {'jsonrpc': '2.0', 'id': rid, 'error': {'code': -32603, 'message': 'broken'}}
        elif path == '/working-task':
            body = {'jsonrpc': '2.0', 'id': rid, 'result': {
                'kind': 'task', 'id': 't', 'contextId': 'c', 'status': {'state': 'working'}}}
        else:
            body = {'jsonrpc': '2.0', 'id': rid, 'result': msg}
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
server.daemon_threads = True
print('listening on 127.0.0.1:%d' % server.server_address[1], flush=True)
server.serve_forever()
