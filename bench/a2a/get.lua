-- wrk script: tasks/get of one task, its id given after `--` (wrk ... get.lua URL -- <task id>).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
function init(args)
  wrk.body = '{"jsonrpc":"2.0","id":"7f1c2a9e-3b4d-4e5f-8a6b-1c2d3e4f5a6b","method":"tasks/get",' ..
    '"params":{"id":"' .. args[1] .. '"}}'
end
