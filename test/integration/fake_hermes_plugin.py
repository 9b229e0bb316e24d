#!/usr/bin/env python3
"""A hermes plugin that takes every turn and never answers it, for test_host_durable_hermes.sh:
each POST /a2a/inbound is appended (its JSON body, one line) to the file argv[1] and answered
200 {"ok":true}; the reply the plugin owes never comes. Prints "listening on 127.0.0.1:PORT"
once it accepts connections."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[1], 'ab') as f:
            f.write(body.replace(b'\n', b' ') + b'\n')
        out = b'{"ok":true}'
        self.send_response(200 if self.path == '/a2a/inbound' else 404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)


server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
print('listening on 127.0.0.1:%d' % server.server_address[1], flush=True)
server.serve_forever()
