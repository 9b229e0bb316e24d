-- wrk script: the chat-completions request the `chat` bridge sends for bench/a2a/send.lua's
-- message (no system prompt, no tools), posted to mock-llm directly.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.body = '{"model":"mock","messages":[{"role":"user","content":' ..
  '"Summarise the quarterly report and list the three biggest risks."}],"stream":false}'
