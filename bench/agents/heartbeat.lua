-- wrk script: POST /registry/heartbeat as the C client sends it (full payload with
-- runtime_metadata), rotating over the workspaces of a tokens file ("<id> <token>" lines)
-- with each workspace's own bearer token.
-- Usage: wrk ... -s heartbeat.lua URL -- TOKENS_FILE (or BENCH_TOKENS=TOKENS_FILE in the environment)
local reqs = {}
local i = 0

function init(args)
  local file = args[1] or os.getenv("BENCH_TOKENS")
  for line in io.lines(file) do
    local id, tok = line:match("^(%S+) (%S+)$")
    if id then
      local body = '{"workspace_id":"' .. id .. '","current_task":"","active_tasks":0,' ..
        '"error_rate":0,"sample_error":"","uptime_seconds":60,"runtime_state":"",' ..
        '"runtime_metadata":{"capabilities":{"heartbeat":true,"scheduler":false,' ..
        '"session":false,"status_mgmt":false,"retry":false,"activity_decoration":false,' ..
        '"channel_dispatch":false}}}'
      reqs[#reqs + 1] = wrk.format("POST", "/registry/heartbeat",
        {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tok}, body)
    end
  end
  if #reqs == 0 then error("no workspaces in " .. tostring(file)) end
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
