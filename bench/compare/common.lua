-- Shared by the wrk scripts in bench/compare (loaded with dofile from each of them).
--
-- Gives every wrk thread a small id (for unique object names), counts answers whose status
-- is not the expected one, and makes done() print one parseable line:
--
--   RESULT requests=N duration_us=D rps=R p50_us=A p99_us=B max_us=M bad=K errors=E
--
-- bad counts answers with a status other than `want_status` (or failing `want_body`);
-- errors counts socket errors and timeouts. A first bad answer is printed as FIRST_BAD.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

bad = 0
first_bad = ""

-- Each script sets want_status and may set want_body (a plain substring the body must hold).
function response(status, headers, body)
  if status ~= want_status or (want_body and not string.find(body, want_body, 1, true)) then
    bad = bad + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local nbad, sample = 0, ""
  for _, t in ipairs(threads) do
    nbad = nbad + (t:get("bad") or 0)
    local s = t:get("first_bad") or ""
    if sample == "" then sample = s end
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
      "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d bad=%d errors=%d\n",
      summary.requests, summary.duration, summary.requests / secs, latency:percentile(50),
      latency:percentile(99), latency.max, nbad, e.connect + e.read + e.write + e.timeout))
  if sample ~= "" then
    io.write("FIRST_BAD " .. (string.gsub(sample, "%s+", " ")) .. "\n")
  end
end

-- Standard base64 (etcd's JSON gateway takes keys and values as base64 bytes).
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = string.byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = string.sub(b64chars, c1 + 1, c1 + 1) .. string.sub(b64chars, c2 + 1, c2 + 1) ..
                    (b and string.sub(b64chars, c3 + 1, c3 + 1) or "=") ..
                    (c and string.sub(b64chars, c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end
