-- wrk script: the message/stream of send.lua (the same Molecule-shaped message), answered as an
-- SSE stream: against `molecule serve --executor echo` the task and its completion with the
-- direct reply; with --task-mode the task, working, the artifact and completed.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","method":"message/stream",' ..
  '"params":{"message":{"role":"user","messageId":"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d",' ..
  '"parts":[{"kind":"text","text":"Summarise the quarterly report and list the three biggest risks."}]}}}'
