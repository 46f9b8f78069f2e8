-- wrk script for Coffer's benchmark: cycle through presigned URLs read from a file.
-- usage: wrk ... -s bench/urls.lua URL -- URLFILE METHOD [BODYFILE]
-- Presigned URLs (UNSIGNED-PAYLOAD) let wrk send a fixed body without signing anything.

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local paths, count, pos = {}, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    paths[count] = line
  end
  wrk.method = args[2]
  pos = (id * 7919) % count
  if args[3] then
    local f = assert(io.open(args[3], "rb"))
    wrk.body = f:read("*a")
    f:close()
  end
end

function request()
  pos = pos % count + 1
  return wrk.format(nil, paths[pos])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
