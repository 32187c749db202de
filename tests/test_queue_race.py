"""Races for the last places, through the JSON API as clients reach it: the web application served by
uvicorn in two worker processes, hundreds of concurrent HTTP clients (httpx), the real PostgreSQL, and
SQLite. Exactly as many bookings as places; every other client is told "full", in Thai, with a code; the
same person on two channels at once books once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
import yaml
from queue_setup import nid, phone

from delayhub.queueing.booking import Queue
from delayhub.queueing.rules import identify, phone_proof
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.web.queue_api import queue_key

SECRET = "race-test-secret-" + "r" * 40
KEY = queue_key(SECRET)
NOW = dt.datetime.fromisoformat("2026-11-25T09:40:00+07:00")
AGENCY, AT = "MOC-DBD-REG", (13.8591, 100.5143)
PLACES, TAKEN, CLIENTS = 100, 60, 300  # 300 clients for the last 40 places
FULL_TH = "คิวเต็มแล้ว กรุณาเลือกช่วงเวลาหรือวันอื่น"


def person(n: int, channel: str, slot_id: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": channel, "agency": AGENCY, "service": "DESK", "name": f"ผู้จอง {n}",
                            "national_id": nid(n), "phone": phone(n),
                            "proof": phone_proof(KEY, phone(n), NOW.timestamp())}
    if channel == "web":
        body["slot_id"] = slot_id
    else:
        body.update(lat=AT[0], lon=AT[1])
    return body


@pytest.fixture
def settings_dir(tmp_path: Path) -> Path:
    """One slot a day on each channel (08:30–16:30), 100 web places, 100 mobile places."""
    folder = tmp_path / "queue"
    folder.mkdir()
    data = {"agency": AGENCY, "location": {"lat": AT[0], "lon": AT[1]},
            "opening_hours": [{"from": "08:30", "to": "16:30"}], "slot_minutes": 480, "booking_horizon_days": 3,
            "mobile_radius_m": 2000, "grace_minutes": 15, "people_ahead_alert": 3,
            "web_to_walk_in": {"enabled": False},
            "counters": {"walk_in": {"prefix": "A", "names": ["1"]}, "web": {"prefix": "W", "names": ["2"]},
                         "mobile": {"prefix": "M", "names": ["3"]}},
            "services": [{"code": "DESK", "name": "ยื่นคำขอ", "daily_capacity": {"walk_in": 10, "web": PLACES,
                                                                                 "mobile": PLACES}}]}
    (folder / f"{AGENCY}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def today_slot(url: str, settings_dir: Path, channel: str = "web", taken: int = 0) -> int:
    """Make the slots, book ``taken`` places of today's slot directly, and say which slot it is."""
    store = HubStore.open(url)
    try:
        registry = Registry.load()
        queue = Queue(store, registry, load_all(registry, settings_dir), KEY, now=lambda: NOW)
        slot = queue.slots(AGENCY, "DESK", channel, NOW.date())[0][0]
        for n in range(100_000, 100_000 + taken):
            booker = identify(f"ผู้จองก่อน {n}", nid(n), phone(n))
            queue.book(queue.plan("web", AGENCY, "DESK", booker, slot_id=slot.id,
                                  proof=phone_proof(KEY, phone(n), NOW.timestamp())))
        return slot.id
    finally:
        store.close()


@pytest.fixture
def app(serve_processes: Callable[..., list[str]], settings_dir: Path) -> Callable[[str], str]:
    """``app(url)``: the app on the hub store at ``url`` under uvicorn with two worker processes, as deployed."""

    def start(url: str) -> str:
        [base] = serve_processes(1, {"DELAYHUB_DATABASE_URL": url, "DELAYHUB_WEB_SECRET": SECRET,
                                     "DELAYHUB_NOW": NOW.isoformat(), "DELAYHUB_QUEUE_SETTINGS": str(settings_dir),
                                     "DELAYHUB_QUEUE_POOL": "8"}, "--workers", "2")
        return base

    return start


def fire(base: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Every body posted at once, each on its own connection."""
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
            await asyncio.gather(*(client.get("/health") for _ in range(len(bodies))))  # connections opened first
            return list(await asyncio.gather(*(client.post("/queue/api/v1/bookings", json=b) for b in bodies)))

    return asyncio.run(run())


def stored(url: str, slot_id: int) -> tuple[int, int, int, list[str]]:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        q = conn.exec_driver_sql
        rows = q(f"SELECT count(*) FROM queue_bookings WHERE slot_id = {slot_id}").scalar()
        booked, capacity = q(f"SELECT booked, capacity FROM queue_slots WHERE id = {slot_id}").one()
        numbers = [r[0] for r in q(f"SELECT queue_no FROM queue_bookings WHERE slot_id = {slot_id}")]
    engine.dispose()
    return rows, booked, capacity, numbers


def race_for_the_last_places(base: str, url: str, slot_id: int) -> None:
    answers = fire(base, [person(n, "web", slot_id) for n in range(1, CLIENTS + 1)])
    statuses = Counter(a.status_code for a in answers)
    assert statuses == {201: PLACES - TAKEN, 409: CLIENTS - (PLACES - TAKEN)}
    for a in answers:
        if a.status_code == 409:  # a clear answer: the code, and the reason in Thai
            assert a.json()["error"] == "full" and a.json()["message"] == FULL_TH
    numbers = sorted(a.json()["booking"]["queue_no"] for a in answers if a.status_code == 201)
    rows, booked, capacity, stored_numbers = stored(url, slot_id)
    assert rows == booked == capacity == PLACES
    assert sorted(stored_numbers) == [f"W{n:03d}" for n in range(1, PLACES + 1)]  # every number once
    assert set(numbers) == {f"W{n:03d}" for n in range(TAKEN + 1, PLACES + 1)}


@pytest.mark.postgres
def test_300_clients_race_for_the_last_40_places_on_postgresql(pg_url: str, settings_dir: Path, app: Any) -> None:
    slot_id = today_slot(pg_url, settings_dir, taken=TAKEN)
    race_for_the_last_places(app(pg_url), pg_url, slot_id)


def test_300_clients_race_for_the_last_40_places_on_sqlite(sqlite_url: str, settings_dir: Path, app: Any) -> None:
    slot_id = today_slot(sqlite_url, settings_dir, taken=TAKEN)
    race_for_the_last_places(app(sqlite_url), sqlite_url, slot_id)


@pytest.mark.postgres
def test_the_same_person_on_two_channels_at_once_books_once(pg_url: str, settings_dir: Path, app: Any) -> None:
    slot_id = today_slot(pg_url, settings_dir)
    base = app(pg_url)
    people = range(1, 41)
    bodies = [b for n in people for b in (person(n, "web", slot_id), person(n, "mobile"))]
    answers = fire(base, bodies)
    for n, (web, mobile) in zip(people, zip(answers[::2], answers[1::2], strict=True), strict=True):
        assert sorted((web.status_code, mobile.status_code)) == [201, 409], n
        refused = web if web.status_code == 409 else mobile
        assert refused.json()["error"] == "already_booked"
        assert refused.json()["message"].startswith("ท่านมีคิวที่หน่วยงานนี้ในวันนั้นอยู่แล้ว")
    engine = sqlalchemy.create_engine(pg_url)
    with engine.connect() as conn:
        per_person = conn.exec_driver_sql("SELECT person_key, count(*) FROM queue_bookings GROUP BY person_key").all()
        places = conn.exec_driver_sql("SELECT sum(booked) FROM queue_slots").scalar()
    engine.dispose()
    assert len(per_person) == len(people) and {n for _, n in per_person} == {1}
    assert places == len(people)  # the refused channel's place was given back in the same transaction
