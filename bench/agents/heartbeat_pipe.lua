-- wrk script: heartbeat.lua's requests, DEPTH of them (env, default 16) pipelined per write;
-- wrk counts every response. Shows the cost of answers that wait for the commit when a client
-- pipelines (each request stays in the platform until its iteration's COMMIT has returned).
-- Usage: BENCH_TOKENS=FILE [DEPTH=16] wrk ... -s heartbeat_pipe.lua URL
local depth = tonumber(os.getenv("DEPTH") or "16")
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
  local out = {}
  for k = 1, depth do
    i = i % #reqs + 1
    out[k] = reqs[i]
  end
  return table.concat(out)
end
