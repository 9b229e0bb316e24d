#!/usr/bin/env python3
"""`molecule mcp` as a process over real pipes, speaking raw JSON lines:
 - stdout carries MCP messages only, one per line (logs go to stderr);
 - JSON-RPC errors: parse error (id null), invalid request, unknown method, requests before
   initialize; notifications (known or not) and responses are never answered;
 - calls are answered in completion order; end of input drains the calls in flight, then exit 0;
 - SIGTERM cancels a call in flight, which is still answered (isError), then exit 0;
 - notifications/cancelled ends a call with no answer and stops the tool;
 - a line longer than the bound gets an Invalid Request error and the next line is served;
 - input from a regular file works; a broken stdout ends the process with status 1;
 - the configuration errors of a missing PLATFORM_URL / WORKSPACE_ID exit 2."""
import json
import os
import signal
import subprocess
import sys
import tempfile

MOLECULE = sys.argv[1]
ENV = dict(os.environ, PLATFORM_URL="http://127.0.0.1:9", WORKSPACE_ID="ws-mcp-stdio",
           MOLECULE_MCP_TEST_TOOLS="1", MOLECULE_WORKSPACE_TOKEN="t0ken")
ENV.pop("MOLECULE_PLATFORM_URL", None)
ENV.pop("MOLECULE_WORKSPACE_ID", None)


def msg(id_, method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        m["id"] = id_
    if params is not None:
        m["params"] = params
    return json.dumps(m)


INIT = msg(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                             "clientInfo": {"name": "py", "version": "1"}})


def call(id_, name, args):
    return msg(id_, "tools/call", {"name": name, "arguments": args})


class Server:
    def __init__(self, env=ENV):
        self.p = subprocess.Popen([MOLECULE, "mcp"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

    def send(self, *lines):
        for line in lines:
            self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def read(self):
        line = self.p.stdout.readline()
        assert line.endswith(b"\n"), f"no answer (stderr: {self.p.stderr.read()!r})"
        return json.loads(line)

    def finish(self):
        self.p.stdin.close()
        rest = self.p.stdout.read()
        self.p.wait(timeout=60)
        err = self.p.stderr.read().decode()
        return [json.loads(l) for l in rest.splitlines()], self.p.returncode, err


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def text(answer):
    return answer["result"]["content"][0]["text"]


def test_errors_and_silence():
    s = Server()
    s.send(msg(1, "tools/list"))                        # before initialize
    a = s.read()
    check(a["id"] == 1 and a["error"]["code"] == -32600, f"before initialize: {a}")
    s.send(msg(2, "ping"))
    check(s.read() == {"jsonrpc": "2.0", "id": 2, "result": {}}, "ping before initialize")
    s.send(INIT)
    a = s.read()
    check(a["result"]["protocolVersion"] == "2025-06-18", f"negotiated: {a}")
    # Silence: the initialized notification, an unknown notification, a response, a blank
    # line; then a request, whose answer must be the next line.
    s.send(msg(None, "notifications/initialized"), msg(None, "notifications/unknown"),
           '{"jsonrpc":"2.0","id":77,"result":{}}', "   ", msg(3, "no/such"))
    a = s.read()
    check(a["id"] == 3 and a["error"]["code"] == -32601, f"method not found: {a}")
    s.send("{not json", '{"jsonrpc":"2.0","id":4}', '{"jsonrpc":"1.0","id":5,"method":"ping"}')
    a, b, c = s.read(), s.read(), s.read()
    check(a["id"] is None and a["error"]["code"] == -32700, f"parse error: {a}")
    check(b["id"] == 4 and b["error"]["code"] == -32600, f"invalid request: {b}")
    check(c["id"] == 5 and c["error"]["code"] == -32600, f"jsonrpc 1.0: {c}")
    s.send(call(6, "nope", {}))
    a = s.read()
    check(a["error"]["code"] == -32602 and "Unknown tool" in a["error"]["message"], f"{a}")
    rest, rc, err = s.finish()
    check(rest == [] and rc == 0, f"end: {rest} {rc}")
    check("serving" in err, "logs on stderr")


def test_order_drain_and_cancel():
    s = Server()
    s.send(INIT)
    s.read()
    s.send(call(1, "slow", {"ms": 300}), call(2, "slow", {}), call(3, "echo", {"text": "first"}))
    a = s.read()
    check(a["id"] == 3 and text(a) == "first", f"the quick call first: {a}")
    s.send(msg(None, "notifications/cancelled", {"requestId": 2, "reason": "test"}),
           call(4, "running", {}))
    a = s.read()
    check(a["id"] == 4 and text(a) == "1", f"only the 300 ms call still runs: {a}")
    # End of input now: the 300 ms call is drained and answered; the canceled one never is.
    rest, rc, _ = s.finish()
    check([r["id"] for r in rest] == [1] and text(rest[0]) == "slept 300 ms", f"drain: {rest}")
    check(rc == 0, f"exit status {rc}")


def test_sigterm_answers_calls():
    s = Server()
    s.send(INIT)
    s.read()
    s.send(call(1, "slow", {}), call(2, "running", {}))
    a = s.read()
    check(a["id"] == 2 and text(a) == "1", f"running: {a}")
    s.p.send_signal(signal.SIGTERM)
    a = s.read()
    check(a["id"] == 1 and a["result"]["isError"] is True and "canceled" in text(a),
          f"canceled call answered: {a}")
    rest, rc, _ = s.finish()
    check(rest == [] and rc == 0, f"after SIGTERM: {rest} {rc}")


def test_long_line_and_file_input():
    s = Server()
    s.send(INIT)
    s.read()
    s.send('{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + "x" * (5 << 20) + '"}',
           msg(2, "ping"))
    a, b = s.read(), s.read()
    check(a["id"] is None and a["error"]["code"] == -32600 and "longer" in a["error"]["message"],
          f"long line: {str(a)[:200]}")
    check(b == {"jsonrpc": "2.0", "id": 2, "result": {}}, "the next line is served")
    s.finish()

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "in.jsonl")
        with open(path, "w") as f:
            f.write(INIT + "\r\n" + call(1, "add", {"a": 1.5, "b": 2}) + "\n" + msg(2, "ping"))
        with open(path) as f, open(os.path.join(d, "out.jsonl"), "w+") as out:
            rc = subprocess.run([MOLECULE, "mcp"], stdin=f, stdout=out, stderr=subprocess.PIPE,
                                env=ENV, timeout=60).returncode
            out.seek(0)
            lines = [json.loads(l) for l in out.read().splitlines()]
        check(rc == 0, f"file input exit {rc}")
        ids = sorted(l["id"] for l in lines)
        check(ids == [0, 1, 2], f"file answers: {lines}")
        check(text([l for l in lines if l["id"] == 1][0]) == "3.5", "add")


def test_broken_stdout():
    s = Server()
    s.send(INIT)
    s.read()
    s.send(call(1, "slow", {"ms": 200}), call(2, "running", {}))
    s.read()
    s.p.stdout.close()          # the client stops listening; its call's answer cannot go out
    s.p.stdin.close()
    rc = s.p.wait(timeout=60)
    check(rc == 1, f"broken stdout exit status {rc}")


def test_config_errors():
    env = dict(ENV)
    del env["WORKSPACE_ID"]
    r = subprocess.run([MOLECULE, "mcp"], stdin=subprocess.DEVNULL, capture_output=True, env=env,
                       timeout=60)
    check(r.returncode == 2 and b"WORKSPACE_ID" in r.stderr, f"no workspace: {r}")


for t in (test_errors_and_silence, test_order_drain_and_cancel, test_sigterm_answers_calls,
          test_long_line_and_file_input, test_broken_stdout, test_config_errors):
    t()
    print(f"{t.__name__}: ok")
print("mcp stdio: passed")
