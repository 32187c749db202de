-- wrk script for bench/queue_booking.py: each wrk thread POSTs the booking bodies prepared for it
-- (<prefix>.<thread>.jsonl, one JSON body a line, each a different person), in order, and counts the
-- answers by HTTP status (wrk_report.lua prints the summary line).
-- usage: wrk -t2 -c200 -d10s -s bench/queue_booking.lua http://127.0.0.1:PORT -- <prefix>
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_report.lua")

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
