-- wrk script: what a registered hosted agent sends every 30 s, in turn - POST
-- /registry/heartbeat (the C client's full payload) and GET /workspaces/:id/state - rotating
-- over the workspaces of a tokens file ("<id> <token>" lines), each with its own bearer.
-- Usage: wrk ... -s beat_poll.lua URL -- TOKENS_FILE (or BENCH_TOKENS=TOKENS_FILE in the environment)
local reqs = {}
local i = 0

function init(args)
  local file = args[1] or os.getenv("BENCH_TOKENS")
  for line in io.lines(file) do
    local id, tok = line:match("^(%S+) (%S+)$")
    if id then
      local auth = "Bearer " .. tok
      local body = '{"workspace_id":"' .. id .. '","current_task":"","active_tasks":0,' ..
        '"error_rate":0,"sample_error":"","uptime_seconds":60,"runtime_state":"",' ..
        '"runtime_metadata":{"capabilities":{"heartbeat":true,"scheduler":false,' ..
        '"session":false,"status_mgmt":false,"retry":false,"activity_decoration":false,' ..
        '"channel_dispatch":false}}}'
      reqs[#reqs + 1] = wrk.format("POST", "/registry/heartbeat",
        {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
      reqs[#reqs + 1] = wrk.format("GET", "/workspaces/" .. id .. "/state",
        {["Authorization"] = auth})
    end
  end
  if #reqs == 0 then error("no workspaces in " .. tostring(file)) end
  -- each wrk thread starts at its own place in the rotation
  i = math.random(#reqs / 2) * 2
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
