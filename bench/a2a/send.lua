-- wrk script: an A2A message/send in the shape every Molecule caller sends (v0.3, one
-- text part, no A2A-Version header).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","method":"message/send",' ..
  '"params":{"message":{"role":"user","messageId":"0d9b7c6a-5e4f-4a3b-9c2d-1e0f9a8b7c6d",' ..
  '"parts":[{"kind":"text","text":"Summarise the quarterly report and list the three biggest risks."}]}}}'
