#!/usr/bin/env python3
"""The Molecule platform's A2A proxy when it queues, for test_cli_call_queued.sh: every POST is
counted (one line per POST in the file argv[1]) and answered the way the path says:
  /w/202/a2a    202 {"queued":true,"queue_id":"q1"}   (the proxy's busy-target hand-off)
  /w/poll/a2a   200 {"status":"queued","delivery_mode":"poll",...}   (a poll-mode workspace)
  /w/other/a2a  200 {"status":"ok"}   (not a JSON-RPC response, not a hand-off: an error)
Prints "listening on 127.0.0.1:PORT" once it accepts connections."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = {
    '/w/202/a2a': (202, b'{"queued":true,"queue_id":"q1"}'),
    '/w/poll/a2a': (200, b'{"status":"queued","delivery_mode":"poll","workspace_id":"w",'
                         b'"message_id":"m1","method":"message/send"}'),
    '/w/other/a2a': (200, b'{"status":"ok"}'),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_GET(self):  # no agent card here
        self.send_response(404)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[1], 'a') as f:
            f.write(self.path + '\n')
        status, body = ANSWERS.get(self.path, (404, b'{}'))
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print('listening on 127.0.0.1:%d' % server.server_address[1], flush=True)
server.serve_forever()
