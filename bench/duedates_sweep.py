"""Due dates per second through the one calendar, against numpy's vectorised busday_offset (the peer).

Prints one JSON line: how long the per-request due-date path takes for N open requests, next to
numpy computing the same dates in one array call. Both must agree on every date.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time

import numpy as np

from delayhub.calendar import default_calendar
from delayhub.duedates import due_date


def main(n: int = 200_000) -> None:
    cal = default_calendar()
    rng = random.Random(10)
    base = dt.date(2025, 1, 1)
    starts = [base + dt.timedelta(days=rng.randint(0, 700)) for _ in range(n)]
    days = [rng.choice([1, 3, 5, 15, 30, 45, 60]) for _ in range(n)]
    t = time.process_time()
    ours = [due_date(s, d, "working", cal) for s, d in zip(starts, days, strict=True)]
    ours_s = time.process_time() - t
    t = time.process_time()
    peer = np.busday_offset(np.array(starts, dtype="datetime64[D]"), np.array(days), roll="backward",
                            busdaycal=cal.busdaycalendar)
    peer_s = time.process_time() - t
    agree = all(a == b for a, b in zip(ours, peer.astype(dt.date), strict=True))
    print(json.dumps({"bench": "duedates_sweep", "requests": n, "due_dates_per_cpu_second": round(n / ours_s),
                      "peer": "numpy.busday_offset over the whole array",
                      "peer_due_dates_per_cpu_second": round(n / peer_s), "agree": agree}))
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
