"""The central queue's booking endpoint under load: bookings per second and latency, over loopback.

The web application runs as it is deployed (``uvicorn --factory delayhub.web.app:create_app``, two
worker processes) on a fresh PostgreSQL database; Debian's ``wrk`` posts prepared bookings through
``bench/queue_booking.lua`` (every body a different person with a confirmed phone, so each is a real
booking), and counts the answers. Phases:

- spread: each booking to one of 840 web slots (6 agencies × 2 services × 5 days × 14 slots);
  throughput with 200 clients, latency with 20;
- hot: everyone on one slot (one row every booking updates), the same two measures;
- race: 200 clients on one slot with 500 places: exactly 500 bookings, every other answer "full".

Afterwards the store is checked: no slot with more bookings than places, ``booked`` equal to the
bookings holding a place, no queue number given twice (``overbooking`` counts the slots with more
bookings than places: it must be 0). Prints one JSON line. Figures halve when other work shares the
machine: run it on a quiet one.

    .venv/bin/python bench/queue_booking.py [--seconds 10] [--workers 2]

Needs PostgreSQL (DELAYHUB_TEST_PG, default postgres@127.0.0.1) and ``wrk`` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import sqlalchemy
import yaml
from _common import ROOT, run_with_wrk, run_wrk, web_app

from delayhub.config import TIMEZONE
from delayhub.normalise import national_id_check_digit
from delayhub.queueing.booking import Queue
from delayhub.queueing.rules import phone_proof
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.queue_api import queue_key

LUA = ROOT / "bench" / "queue_booking.lua"
SECRET = "bench-queue-secret-" + "q" * 40
NOW = dt.datetime(2026, 11, 26, 7, 30, tzinfo=TIMEZONE)  # a Thursday, before opening: every slot is bookable
SPREAD = ("MOC-DBD", "MOC-DIP-TM", "MOPH-FDA-FOOD", "MOI-DOPA-BORA", "MOI-DPT-BCD", "MIND-DIW-FLD")
HOT, RACE = "MOPH-FDA-DRUG", "MOC-DBD-REG"
RACE_PLACES = 500
# Quoted for scale: the same question elsewhere.
PEERS = {
    "bcgov_the_q_200_users": {"median_s": 3.4, "p95_s": 12.0},
    "minimal_guarded_endpoint_here_per_s": 2200,
}


def settings(agency: str, web: int, slot_minutes: int, hours: tuple[str, str]) -> dict:
    return {"agency": agency, "location": {"lat": 13.86, "lon": 100.51},
            "opening_hours": [{"from": hours[0], "to": hours[1]}], "slot_minutes": slot_minutes,
            "booking_horizon_days": 6, "mobile_radius_m": 2000, "grace_minutes": 15, "people_ahead_alert": 3,
            "web_to_walk_in": {"enabled": False},
            "counters": {"walk_in": {"prefix": "A", "names": ["1"]}, "web": {"prefix": "W", "names": ["2"]},
                         "mobile": {"prefix": "M", "names": ["3"]}},
            "services": [{"code": code, "name": f"บริการ {code}", "name_en": f"Service {code}",
                          "daily_capacity": {"walk_in": 10, "web": web, "mobile": 10}}
                         for code in (("S1", "S2") if agency in SPREAD else ("S1",))]}


def write_settings(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for agency in SPREAD:  # 14 half-hour slots of 1,000 places a service and day
        data = settings(agency, 14_000, 30, ("09:00", "16:00"))
        (folder / f"{agency}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    (folder / f"{HOT}.yaml").write_text(yaml.safe_dump(settings(HOT, 100_000, 480, ("08:00", "16:00")),
                                                       allow_unicode=True), encoding="utf-8")
    (folder / f"{RACE}.yaml").write_text(yaml.safe_dump(settings(RACE, RACE_PLACES, 480, ("08:00", "16:00")),
                                                        allow_unicode=True), encoding="utf-8")


class People:
    """Distinct bookers: a valid national ID and a mobile number each, with the phone's proof."""

    def __init__(self, key: bytes) -> None:
        self.key, self.n = key, 0

    def body(self, agency: str, slot_id: int) -> str:
        self.n += 1
        first12 = f"3{self.n:011d}"
        nid = first12 + str(national_id_check_digit(first12))
        phone = f"08{self.n:08d}"
        return json.dumps({"channel": "web", "agency": agency, "service": "S1",
                           "slot_id": slot_id, "name": f"ผู้จอง {self.n}", "national_id": nid, "phone": phone,
                           "proof": phone_proof(self.key, phone, NOW.timestamp())}, ensure_ascii=False)


def prepare(folder: Path, name: str, people: People, targets: list[tuple[str, int]], count: int,
            threads: int) -> str:
    """``count`` bodies over ``targets`` (agency, slot), split into one file per wrk thread."""
    prefix = str(folder / name)
    files = [open(f"{prefix}.{t}.jsonl", "w", encoding="utf-8") for t in range(threads)]
    for i in range(count):
        agency, slot = targets[i % len(targets)]
        files[i % threads].write(people.body(agency, slot) + "\n")
    for f in files:
        f.close()
    return prefix


def wrk(base: str, prefix: str, clients: int, seconds: float, threads: int) -> dict:
    result = run_wrk(base, LUA, clients, seconds, prefix, threads=threads)
    seconds_run = result["duration_us"] / 1e6
    booked = result["statuses"].get("201", 0)
    return {"clients": clients, "seconds": round(seconds_run, 1), "bookings": booked,
            "bookings_per_s": round(booked / seconds_run), "p50_ms": round(result["p50_us"] / 1000, 1),
            "p95_ms": round(result["p95_us"] / 1000, 1), "p99_ms": round(result["p99_us"] / 1000, 1),
            "other_answers": {k: v for k, v in result["statuses"].items() if k != "201"},
            "socket_errors": result["socket_errors"]}


def checks(url: str) -> dict:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        overbooked = q("SELECT count(*) FROM queue_slots s WHERE (SELECT count(*) FROM queue_bookings b "
                       "WHERE b.slot_id = s.id AND b.status NOT IN ('cancelled', 'released')) > s.capacity").scalar()
        mismatched = q("SELECT count(*) FROM queue_slots s WHERE s.booked <> (SELECT count(*) FROM queue_bookings b "
                       "WHERE b.slot_id = s.id AND b.status NOT IN ('cancelled', 'released'))").scalar()
        numbers_twice = q("SELECT count(*) FROM (SELECT agency, day, channel, number FROM queue_bookings "
                          "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) x").scalar()
        bookings = q("SELECT count(*) FROM queue_bookings").scalar()
        race = q("SELECT count(*) FROM queue_bookings WHERE agency = %s", (RACE,)).scalar()
        confirmations = q("SELECT count(*) FROM outbox WHERE kind = 'queue_booked'").scalar()
    engine.dispose()
    return {"overbooking": overbooked, "booked_counter_mismatches": mismatched,
            "queue_numbers_given_twice": numbers_twice, "bookings_stored": bookings,
            "confirmation_sms_queued": confirmations, "race_bookings_stored": race}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args()
    run_with_wrk("delayhub-bench-queue", run, args)


def run(url: str, tmp: Path, args: argparse.Namespace) -> dict:
    write_settings(tmp / "queue")
    env = {**os.environ, "DELAYHUB_DATABASE_URL": url, "DELAYHUB_WEB_SECRET": SECRET,
           "DELAYHUB_NOW": NOW.isoformat(), "DELAYHUB_QUEUE_SETTINGS": str(tmp / "queue"),
           "DELAYHUB_VAR": str(tmp / "var"), "DELAYHUB_ROOT": str(ROOT)}
    os.environ.update({k: env[k] for k in ("DELAYHUB_NOW", "DELAYHUB_QUEUE_SETTINGS", "DELAYHUB_VAR")})
    store = HubStore.open(url)  # migrated, and the slots made, before the server starts
    registry = Registry.load()
    queue = Queue(store, registry, load_all(registry), queue_key(SECRET))
    spread: list[tuple[str, int]] = []
    for agency in SPREAD:
        for day, _free in queue.days(agency, "S1", "web", NOW)[:5]:
            spread += [(agency, s.id) for s, _ in queue.slots(agency, "S1", "web", day, NOW)]
    hot = [(HOT, queue.slots(HOT, "S1", "web", NOW.date(), NOW)[0][0].id)]
    race = [(RACE, queue.slots(RACE, "S1", "web", NOW.date(), NOW)[0][0].id)]
    store.close()

    with web_app(env, args.workers) as base:
        people = People(queue_key(SECRET))
        per_run = int(4000 * args.seconds) + 20_000  # more bodies than any run can send: nobody twice
        t = args.threads

        # Warm up: every worker opens every agency (slots cached) and prepares its statements.
        wrk(base, prepare(tmp, "warm", people, spread + hot, 20_000, t), 50, 3, t)
        spread_200 = wrk(base, prepare(tmp, "spread200", people, spread, per_run, t), 200, args.seconds, t)
        spread_20 = wrk(base, prepare(tmp, "spread20", people, spread, per_run, t), 20, args.seconds, t)
        hot_200 = wrk(base, prepare(tmp, "hot200", people, hot, per_run, t), 200, args.seconds, t)
        hot_20 = wrk(base, prepare(tmp, "hot20", people, hot, per_run, t), 20, args.seconds, t)
        race_run = wrk(base, prepare(tmp, "race", people, race, 20_000, t), 200, 3, t)
        result = {
            "bench": "queue_booking", "database": "postgresql", "uvicorn_workers": args.workers,
            "cpus": os.cpu_count(),
            "bookings_per_s_200_clients": spread_200["bookings_per_s"],
            "latency_20_clients_ms": {k: spread_20[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
            "hot_slot_bookings_per_s_200_clients": hot_200["bookings_per_s"],
            "hot_slot_latency_20_clients_ms": {k: hot_20[k] for k in ("p50_ms", "p95_ms", "p99_ms")},
            "race": {"places": RACE_PLACES, "clients": 200, "booked": race_run["bookings"],
                     "full_answers": race_run["other_answers"].get("409", 0)},
            "runs": {"spread_200": spread_200, "spread_20": spread_20, "hot_200": hot_200, "hot_20": hot_20,
                     "race": race_run},
            **checks(url),
            "peers": PEERS,
        }
    return result


if __name__ == "__main__":
    main()
