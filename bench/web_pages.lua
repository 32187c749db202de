-- wrk script for bench/web_pages.py: GETs the paths listed in a file (one a line; a line "path<TAB>body"
-- POSTs the form body instead), each thread from its own offset, optionally with a session cookie and a client address per request (X-Forwarded-For from
-- a pool of addresses, so a look-up counts against one citizen, not against the benchmark's loopback).
-- Counts answers by HTTP status; at the end prints one JSON line: requests, latency percentiles, statuses.
-- usage: wrk -t2 -c50 -d10s -s bench/web_pages.lua http://127.0.0.1:PORT -- <paths> <cookie|-> <addresses>
local threads = {}
local made = 0

function setup(thread)
  thread:set("id", made)
  made = made + 1
  table.insert(threads, thread)
end

function init(args)
  paths, bodies = {}, {}
  for line in assert(io.open(args[1], "r")):lines() do
    local path, body = line:match("^([^\t]*)\t(.*)$")
    paths[#paths + 1] = path or line
    bodies[#paths] = body or false
  end
  headers = {}
  if args[2] and args[2] ~= "-" then
    headers["Cookie"] = args[2]
  end
  addresses = tonumber(args[3] or "0")
  sent = math.floor(#paths / 7) * id -- threads start apart in the list
  statuses = {}
end

function request()
  sent = sent + 1
  if addresses > 0 then -- 10.<thread>.x.y: each thread its own block, reused only after the whole pool
    local n = sent % addresses
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", id + 1, math.floor(n / 250), n % 250 + 1)
  end
  local i = ((sent - 1) % #paths) + 1
  if bodies[i] then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return wrk.format("POST", paths[i], headers, bodies[i])
  end
  headers["Content-Type"] = nil
  return wrk.format("GET", paths[i], headers)
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
