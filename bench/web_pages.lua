-- wrk script for bench/web_pages.py: GETs the paths listed in a file (one a line; a line "path<TAB>body"
-- POSTs the form body instead), each thread from its own offset, optionally with a session cookie and a client address per request (X-Forwarded-For from
-- a pool of addresses, so a look-up counts against one citizen, not against the benchmark's loopback).
-- Counts answers by HTTP status; at the end prints one JSON line: requests, latency percentiles, statuses.
-- usage: wrk -t2 -c50 -d10s -s bench/web_pages.lua http://127.0.0.1:PORT -- <paths> <cookie|-> <addresses>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")

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
