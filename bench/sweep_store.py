"""The whole notice sweep against the hub store: open requests swept per second.

Fills a fresh SQLite store (or DELAYHUB_BENCH_URL, e.g. PostgreSQL) with N open requests,
then times two sweeps: the first (every due date is new, notices queued) and the steady-state
one the next day (nothing changed, one more notice for those whose week came round). The peer
is the same store's plain read of the same rows: the floor any sweep pays.
Prints one JSON line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import tempfile
import time

from sqlalchemy import select

from delayhub.calendar import default_calendar
from delayhub.config import DispatchConfig
from delayhub.mapping import load_all
from delayhub.normalise import checksum
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Request
from delayhub.sweep import sweep

TODAY = dt.date(2026, 11, 25)


def requests(n: int) -> list[dict]:
    rng = random.Random(7)
    manuals = ["MOC-DBD-001", "MOC-DBD-002", "MOC-DBD-004", "MOC-DBD-005"]
    out = []
    for i in range(n):
        rec = {"request_no": f"B-{i:07d}", "agency": {"ministry": "MOC", "department": "MOC-DBD"},
               "process_code": "DBD-REG-01", "manual_id": rng.choice(manuals),
               "submitted_on": (TODAY - dt.timedelta(days=rng.randint(1, 120))).isoformat(),
               "status": "in_progress", "delay_reason": "อยู่ระหว่างตรวจสอบ",
               "applicant": {"email": f"a{i}@example.co.th"}}
        rec["source"] = {"connector": "moc-dbd-registration", "record_id": str(i), "checksum": checksum(rec)}
        out.append(rec)
    return out


def main(n: int = 100_000) -> None:
    url = os.environ.get("DELAYHUB_BENCH_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    os.environ["DELAYHUB_TODAY"] = (TODAY - dt.timedelta(days=1)).isoformat()
    store = HubStore.open(url)
    records = requests(n)
    for i in range(0, n, 10_000):
        store.upsert_requests(records[i:i + 10_000])
    registry, cal, cfg = Registry.load(), default_calendar(), DispatchConfig()
    mappings = {m.id: m for m in load_all()[0]}
    t = time.perf_counter()
    first = sweep(store, registry, cal, mappings, cfg, TODAY)
    first_s = time.perf_counter() - t
    t = time.perf_counter()
    second = sweep(store, registry, cal, mappings, cfg, TODAY + dt.timedelta(days=1))
    second_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.session() as s:
        rows = len(s.execute(select(Request.id, Request.status, Request.due_on)).all())
    read_s = time.perf_counter() - t
    print(json.dumps({"bench": "sweep_store", "backend": store.engine.dialect.name, "open_requests": n,
                      "first_sweep_seconds": round(first_s, 2), "first_outbox_rows": first["outbox_added"],
                      "next_day_seconds": round(second_s, 2), "next_day_outbox_rows": second["outbox_added"],
                      "requests_per_second_next_day": round(n / second_s),
                      "peer": "plain SELECT of the same rows", "peer_seconds": round(read_s, 2), "rows": rows}))
    store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
