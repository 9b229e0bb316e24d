#!/usr/bin/env python3
"""slow_worker.py - an A2A agent that holds every message/send until told to answer, for the
tests of delegations pending across a caller's restart.

    slow_worker.py DIR

Listens on 127.0.0.1 (a free port), prints "listening on 127.0.0.1:PORT". Each message/send
appends its text to DIR/got (one line) and waits until the file DIR/release exists, then
answers a Message "done: <text>". Anything else gets a JSON-RPC error."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
released = threading.Event()


def watch_release():
    # The release file is the test's signal; a short poll keeps this script dependency-free.
    while not os.path.exists(os.path.join(DIR, "release")):
        threading.Event().wait(0.05)
    released.set()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if body.get("method") != "message/send":
            self.answer({"jsonrpc": "2.0", "id": body.get("id"),
                         "error": {"code": -32601, "message": "Method not found"}})
            return
        parts = body["params"]["message"].get("parts", [])
        text = " ".join(p.get("text", "") for p in parts)
        with open(os.path.join(DIR, "got"), "a") as f:
            f.write(text + "\n")
        released.wait()
        self.answer({"jsonrpc": "2.0", "id": body.get("id"), "result": {
            "kind": "message", "messageId": "w-" + str(body.get("id")), "role": "agent",
            "parts": [{"kind": "text", "text": "done: " + text}]}})

    def answer(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=watch_release, daemon=True).start()
print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
srv.serve_forever()
