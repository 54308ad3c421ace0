-- wrk script: single-object reads from korc's API server.
--
--   wrk -s get_pod.lua http://127.0.0.1:PORT -- NAME
--
-- GETs /api/v1/namespaces/default/pods/NAME (a Pod that exists); any answer but 200 is bad.
dofile(string.match(debug.getinfo(1, "S").source, "^@(.*/)") .. "common.lua")

want_status = 200

function init(args)
  wrk.method = "GET"
  wrk.path = "/api/v1/namespaces/default/pods/" .. (args[1] or "get-target")
end
