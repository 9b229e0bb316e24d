#!/usr/bin/env python3
"""llm_recorder.py - an OpenAI-compatible chat-completions backend for tests that must see what
the model received: every POST /v1/chat/completions body is appended, one JSON object per line,
to the file given as argv[1]; the answer is "reply-<n>: <last user text>". GET /v1/models
and GET /a2a/health (the hermes plugin's) answer 200. It prints "recorder running on 127.0.0.1:<port>" once it listens (argv[2] is the
port, 0 for any)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]
COUNT = [0]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/models") or self.path == "/a2a/health":
            self.answer(200, {"object": "list", "data": [{"id": "mock", "object": "model"}]})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = json.loads(raw)
        with open(LOG, "a") as f:
            f.write(json.dumps(req) + "\n")
        COUNT[0] += 1
        last = req["messages"][-1]["content"]
        msg = {"role": "assistant", "content": "reply-%d: %s" % (COUNT[0], last)}
        self.answer(200, {"id": "c%d" % COUNT[0], "object": "chat.completion", "model": "mock",
                          "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]})


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler)
print("recorder running on 127.0.0.1:%d" % server.server_address[1], flush=True)
server.serve_forever()
