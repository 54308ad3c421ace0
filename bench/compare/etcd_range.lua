-- wrk script: single-key reads from etcd's JSON gateway (/v3/kv/range).
--
--   wrk -s etcd_range.lua http://127.0.0.1:PORT -- KEY
--
-- Ranges over exactly one existing KEY (linearizable, etcd's default); an answer that is not
-- 200 or holds no "kvs" counts as bad.
dofile(string.match(debug.getinfo(1, "S").source, "^@(.*/)") .. "common.lua")

want_status = 200
want_body = '"kvs"'

function init(args)
  wrk.method = "POST"
  wrk.path = "/v3/kv/range"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"key":"' .. base64(args[1] or "get-target") .. '"}'
end
