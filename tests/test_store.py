"""The hub store on SQLite and on the real PostgreSQL: migrations, idempotent upserts, events."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from sqlalchemy import inspect, select

from delayhub.normalise import checksum
from delayhub.pdpa import hash_national_id, mask_national_id
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Manual, Quarantine, Request, RequestEvent
from delayhub.store.repo import QuarantineEntry


def standard(no: str = "ทบ.2569/00001", status: str = "in_progress", **extra) -> dict:
    rec = {
        "request_no": no,
        "agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-REG"},
        "process_code": "DBD-REG-01",
        "manual_id": "MOC-DBD-001",
        "submitted_on": "2026-11-02",
        "status": status,
        "applicant": {"name": "นายสมชาย ใจดี", "national_id": "1101700230676", "phone": "0812345678"},
        "source": {"connector": "moc-dbd-registration", "record_id": no, "fetched_at": "2026-11-25T01:00:00+00:00"},
        **extra,
    }
    rec["source"]["checksum"] = checksum({k: v for k, v in rec.items() if k != "source"})
    return rec


def test_migrations_create_every_table(store: HubStore) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"requests", "request_events", "quarantine", "cursors", "job_runs", "outbox",
            "delivery_attempts", "agencies", "manuals", "alembic_version"} <= tables


def test_upsert_is_idempotent_on_agency_and_request_no(store: HubStore) -> None:
    first = store.upsert_requests([standard("A-1"), standard("A-2")])
    again = store.upsert_requests([standard("A-1"), standard("A-2")])
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    with store.session() as s:
        assert s.scalar(select(Request).where(Request.request_no == "A-1")).status == "in_progress"
        assert len(s.scalars(select(Request)).all()) == 2


def test_same_request_no_in_another_department_is_another_request(store: HubStore) -> None:
    other = standard("A-1")
    other["agency"] = {"ministry": "MOPH", "department": "MOPH-FDA", "division": "MOPH-FDA-FOOD"}
    other["source"]["checksum"] = "f" * 64
    store.upsert_requests([standard("A-1"), other])
    with store.session() as s:
        assert sorted(r.agency for r in s.scalars(select(Request))) == ["MOC-DBD", "MOPH-FDA"]


def test_every_status_change_is_kept_as_an_event(store: HubStore) -> None:
    store.upsert_requests([standard("A-1", "received")])
    store.upsert_requests([standard("A-1", "in_progress")])
    store.upsert_requests([standard("A-1", "completed", completed_on="2026-11-20")])
    with store.session() as s:
        events = s.scalars(select(RequestEvent).order_by(RequestEvent.id)).all()
        row = s.scalar(select(Request))
    assert [(e.kind, e.from_value, e.to_value) for e in events] == [
        ("created", None, "received"), ("status", "received", "in_progress"), ("status", "in_progress", "completed")]
    assert row.completed_on == dt.date(2026, 11, 20)


def test_national_id_is_stored_hashed_and_masked_never_in_clear(store: HubStore) -> None:
    store.upsert_requests([standard("A-1")])
    with store.session() as s:
        row = s.scalar(select(Request))
    assert row.applicant_nid_masked == "x-xxxx-xxxxx-67-6" == mask_national_id("1101700230676")
    assert row.applicant_nid_hash == hash_national_id("1101700230676")
    values = [str(v) for v in vars(row).values()]
    assert not any("1101700230676" in v for v in values)


def test_quarantine_keeps_a_bad_record_once(store: HubStore) -> None:
    raw = {"app_id": "A9", "recv_date": "31/02/2569"}
    entry = QuarantineEntry("moc-dbd-registration", "A9", "submitted_on", "not a real date", raw, checksum(raw))
    assert store.quarantine([entry]) == 1
    assert store.quarantine([copy.deepcopy(entry)]) == 0
    with store.session() as s:
        kept = s.scalars(select(Quarantine)).all()
    assert [(q.source_record_id, q.field, q.raw) for q in kept] == [("A9", "submitted_on", raw)]


def test_quarantine_is_once_per_connector_even_when_two_workers_keep_it_at_once(store: HubStore) -> None:
    import threading

    raw = {"app_id": "A9", "recv_date": "31/02/2569"}
    entries = [QuarantineEntry(c, "A9", "submitted_on", "not a real date", raw, checksum(raw))
               for c in ("moc-dbd-registration", "moph-fda-esubmission")]
    store.quarantine(entries[:1])
    results: list[int] = []
    workers = [threading.Thread(target=lambda: results.append(store.quarantine([copy.deepcopy(entries[1])])))
               for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(results) == [0, 0, 0, 1]  # the other agency's identical bad record is its own to fix
    with store.session() as s:
        kept = s.scalars(select(Quarantine.connector_id).order_by(Quarantine.connector_id)).all()
    assert kept == ["moc-dbd-registration", "moph-fda-esubmission"]


def test_cursor_round_trip(store: HubStore) -> None:
    assert store.get_cursor("x") is None
    store.set_cursor("x", "2569-11-25 10:00:00")
    store.set_cursor("x", "2569-11-25 11:00:00")
    assert store.get_cursor("x") == "2569-11-25 11:00:00"


def test_registry_sync_records_changed_processing_time(store: HubStore) -> None:
    registry = Registry.load()
    assert store.sync_registry(registry) == len(registry.manuals)
    assert store.sync_registry(registry) == 0
    changed = registry.manuals["MOC-DBD-002"].__class__(**{**vars(registry.manuals["MOC-DBD-002"]),
                                                          "processing_days": 7})
    registry.manuals["MOC-DBD-002"] = changed
    assert store.sync_registry(registry) == 1
    with store.session() as s:
        assert s.get(Manual, "MOC-DBD-002").processing_days == 7


def test_failed_job_is_recorded_with_its_error(store: HubStore) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with pytest.raises(RuntimeError), store.job("ingest", "moc-dbd-registration") as job:
        job.add("read", 3)
        raise RuntimeError("back office said no")
    (run,) = store.job_runs_since(since)
    assert (run.status, run.stats, run.error) == ("failed", {"read": 3}, "RuntimeError: back office said no")
