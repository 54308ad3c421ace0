-- wrk script: durable puts against etcd's JSON gateway (grpc-gateway, /v3/kv/put).
--
--   wrk -s etcd_put.lua http://127.0.0.1:PORT -- TAG
--
-- Puts a 1 KiB value (1368 bytes of base64; ~1.4 KiB body) under a unique key
-- bench/TAG/tTHREAD/COUNTER per request; any answer but 200 counts as bad.
dofile(string.match(debug.getinfo(1, "S").source, "^@(.*/)") .. "common.lua")

want_status = 200

local headers = {["Content-Type"] = "application/json"}
local prefix, value_b64
local counter = 0

function init(args)
  prefix = "bench/" .. (args[1] or "bench") .. "/t" .. thread_id .. "/"
  value_b64 = base64(string.rep("v", 1024))
end

function request()
  counter = counter + 1
  local body = '{"key":"' .. base64(prefix .. counter) .. '","value":"' .. value_b64 .. '"}'
  return wrk.format("POST", "/v3/kv/put", headers, body)
end
