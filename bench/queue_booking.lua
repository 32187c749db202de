-- wrk script for bench/queue_booking.py: each wrk thread POSTs the booking bodies prepared for it
-- (<prefix>.<thread>.jsonl, one JSON body a line, each a different person), in order, and counts the
-- answers by HTTP status. At the end it prints one JSON line: requests, latency percentiles, statuses.
-- usage: wrk -t2 -c200 -d10s -s bench/queue_booking.lua http://127.0.0.1:PORT -- <prefix>
local threads = {}
local made = 0

function setup(thread)
  thread:set("id", made)
  made = made + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1] .. "." .. id .. ".jsonl", "r"))
  bodies = {}
  for line in file:lines() do
    bodies[#bodies + 1] = line
  end
  file:close()
  sent = 0
  statuses = {}
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  sent = sent + 1
  return wrk.format("POST", "/queue/api/v1/bookings", headers, bodies[((sent - 1) % #bodies) + 1])
end

function response(status, _headers, _body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _requests)
  local counts, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    '{"duration_us":%d,"requests":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"socket_errors":%d,"statuses":{%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
