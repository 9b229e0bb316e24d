#!/usr/bin/env python3
"""A minimal A2A agent over https for test_cli_proxy.sh: TLS with the certificate and key given
(argv[1], argv[2]); every JSON-RPC POST is answered with a Message "tls echo: TEXT". GETs are
404 (no agent card). Prints "listening on 127.0.0.1:PORT" once it accepts connections."""
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.reply(404, b'{}')

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
        text = ''.join(p.get('text', '') for p in req['params']['message'].get('parts', []))
        msg = {'kind': 'message', 'role': 'agent', 'messageId': 'tls-1',
               'parts': [{'kind': 'text', 'text': 'tls echo: ' + text}]}
        self.reply(200, json.dumps({'jsonrpc': '2.0', 'id': req['id'], 'result': msg}).encode())


srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print('listening on 127.0.0.1:%d' % srv.server_address[1], flush=True)
srv.serve_forever()
