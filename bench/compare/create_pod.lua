-- wrk script: durable Pod creates against korc's API server.
--
--   wrk -s create_pod.lua http://127.0.0.1:PORT -- TAG
--
-- POSTs a ~1 KiB Pod to /api/v1/namespaces/default/pods per request, named
-- TAG-tTHREAD-COUNTER so every name is unique; any answer but 201 counts as bad.
dofile(string.match(debug.getinfo(1, "S").source, "^@(.*/)") .. "common.lua")

want_status = 201

local head = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"'
local middle = '","labels":{"app":"bench"},"annotations":{"bench/pad":"'
local tail = '"}},"spec":{"containers":[{"name":"app","image":"nginx:1.25",' ..
             '"ports":[{"containerPort":80}]}]}}'
local headers = {["Content-Type"] = "application/json"}
local prefix, pad
local counter = 0

function init(args)
  prefix = (args[1] or "bench") .. "-t" .. thread_id .. "-"
  local name_len = #prefix + 6
  pad = string.rep("x", 1024 - #head - name_len - #middle - #tail)
end

function request()
  counter = counter + 1
  local body = head .. prefix .. counter .. middle .. pad .. tail
  return wrk.format("POST", "/api/v1/namespaces/default/pods", headers, body)
end
