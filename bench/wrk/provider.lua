-- One provider's success path for wrk, described by the environment
-- (bench/run.sh sets it per provider; the same script drives bare hyper, so
-- both servers get the same bytes and the client costs the same):
--   BENCH_METHOD   POST or GET
--   BENCH_PATH     the path, `{CURP}` replaced per request
--   BENCH_BODY     the body, `{CURP}` replaced per request (empty: none)
--   BENCH_HEADERS  header lines `name: value`, separated by `|`
--   BENCH_CURPS    a file with one CURP per line
-- Requests are built once per thread (no string work while measuring),
-- each thread cycling through its own slice of the CURPs.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

local requests = {}
local n = 0
local i = 0

function init(args)
  local method = os.getenv("BENCH_METHOD") or "POST"
  local path = os.getenv("BENCH_PATH") or "/"
  local body = os.getenv("BENCH_BODY") or ""
  local headers = { ["content-type"] = "application/json" }
  for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
    local k, v = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
    if k then headers[k] = v end
  end
  local curps = {}
  local file = os.getenv("BENCH_CURPS")
  if file then
    for line in io.lines(file) do
      if #line == 18 then table.insert(curps, line) end
    end
  end
  if #curps == 0 then curps = { "PXNE660720HMCXTN06" } end
  local per = 1000
  local offset = ((tid or 1) - 1) * per
  for k = 1, per do
    local curp = curps[((offset + k - 1) % #curps) + 1]
    local b = string.gsub(body, "{CURP}", curp)
    local p = string.gsub(path, "{CURP}", curp)
    if b == "" then b = nil end
    requests[k] = wrk.format(method, p, headers, b)
  end
  n = per
end

function request()
  i = (i % n) + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
