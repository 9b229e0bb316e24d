-- wrk script: send.lua's message as a v1.0 SendMessage (A2A-Version: 1.0, ProtoJSON names).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
wrk.body = '{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","method":"SendMessage",' ..
  '"params":{"message":{"role":"ROLE_USER","messageId":"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d",' ..
  '"parts":[{"text":"Summarise the quarterly report and list the three biggest risks."}]}}}'
