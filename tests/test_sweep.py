"""The notice sweep against the store (SQLite and PostgreSQL): recomputation, held notices,
catch-up after an outage, completion, and that it visits only what needs it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from delayhub.calendar import ThaiCalendar
from delayhub.config import DispatchConfig
from delayhub.mapping import load_all
from delayhub.normalise import checksum
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Outbox, Request, RequestEvent
from delayhub.sweep import sweep

D = dt.date
CFG = DispatchConfig()
SUBMITTED = D(2026, 11, 2)


def standard(no: str, *, status: str = "in_progress", submitted: str = "2026-11-02", manual: str = "MOC-DBD-002",
             reason: str | None = "รอผลตรวจสอบจากหน่วยงานอื่น", **extra) -> dict:
    rec = {"request_no": no, "agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-REG"},
           "process_code": "DBD-REG-02", "manual_id": manual, "submitted_on": submitted, "status": status,
           "delay_reason": reason,
           "applicant": {"name": "นางสาวกนกพร ศรีสุข", "email": "kanokporn@example.co.th", "phone": "0891234567"},
           **extra}
    rec["source"] = {"connector": "moc-dbd-registration", "record_id": no, "checksum": checksum(rec),
                     "fetched_at": "2026-11-02T01:00:00+00:00"}
    return rec


@pytest.fixture
def hub(store: HubStore, monkeypatch: pytest.MonkeyPatch):
    registry, calendar = Registry.load(), ThaiCalendar.load()
    mappings = {m.id: m for m in load_all()[0]}

    class Hub:
        def put(self, *records: dict, on: D = SUBMITTED) -> None:
            monkeypatch.setenv("DELAYHUB_TODAY", on.isoformat())
            store.upsert_requests(list(records))

        def sweep(self, day: D, *, reg: Registry = registry, cal: ThaiCalendar = calendar, maps=mappings) -> dict:
            return sweep(store, reg, cal, maps, CFG, day)

        def outbox(self, no: str, channel: str = "email") -> list[tuple[str, int, D, int]]:
            with store.session() as s:
                rid = s.scalar(select(Request.id).where(Request.request_no == no))
                rows = s.scalars(select(Outbox).where(Outbox.request_id == rid, Outbox.channel == channel)
                                 .order_by(Outbox.kind, Outbox.sequence))
                return [(o.kind, o.sequence, o.owed_on, o.late_days) for o in rows]

        def request(self, no: str) -> Request:
            with store.session() as s:
                return s.scalar(select(Request).where(Request.request_no == no))

        def events(self, no: str, kind: str) -> list[tuple[str | None, str | None, str]]:
            with store.session() as s:
                rid = s.scalar(select(Request.id).where(Request.request_no == no))
                return [(e.from_value, e.to_value, e.source) for e in s.scalars(
                    select(RequestEvent).where(RequestEvent.request_id == rid, RequestEvent.kind == kind)
                    .order_by(RequestEvent.id))]

    h = Hub()
    h.registry, h.calendar, h.store = registry, calendar, store
    return h


def test_due_date_by_manual_and_first_notice_the_day_after(hub) -> None:
    # MOC-DBD-002 is 3 working days: submitted Mon 2 Nov → due Thu 5 Nov; notice 1 owed Fri 6 Nov
    hub.put(standard("R-1"))
    hub.sweep(D(2026, 11, 5))
    assert hub.request("R-1").due_on == D(2026, 11, 5)
    assert hub.outbox("R-1") == []
    hub.sweep(D(2026, 11, 6))
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 11, 6), 0)]
    assert [c for c in ("email", "sms", "opdc") if hub.outbox("R-1", c)] == ["email", "sms", "opdc"]


def test_after_an_outage_each_missed_notice_is_sent_once_marked_late(hub) -> None:
    hub.put(standard("R-1"))
    hub.sweep(D(2026, 11, 6))  # notice 1 on time
    hub.sweep(D(2026, 11, 27))  # three weeks of outage: notices 2, 3, 4 owed 13, 20, 27 Nov
    hub.sweep(D(2026, 11, 27))
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 11, 6), 0), ("delay", 2, D(2026, 11, 13), 14),
                                 ("delay", 3, D(2026, 11, 20), 7), ("delay", 4, D(2026, 11, 27), 0)]
    assert hub.request("R-1").last_delay_seq == 4


def test_a_notice_without_a_reason_is_held_and_the_agency_is_alerted_once(hub) -> None:
    hub.put(standard("R-1", reason=None))
    stats = hub.sweep(D(2026, 11, 6), maps={})  # no mapping: no default reason either
    assert stats["held_no_reason"] == 1 and stats["notices_owed"] == 0
    assert hub.outbox("R-1") == [] and hub.outbox("R-1", "opdc") == []
    assert hub.outbox("R-1", "agency") == [("held", 1, D(2026, 11, 6), 0)]
    hub.sweep(D(2026, 11, 7), maps={})
    assert hub.outbox("R-1", "agency") == [("held", 1, D(2026, 11, 6), 0)], "one alert, not one a day"
    with hub.store.session() as s:
        alert = s.scalar(select(Outbox).where(Outbox.channel == "agency"))
    assert alert.recipient == "saraban@dbd.go.th" and "R-1" in alert.subject
    hub.put(standard("R-1", reason="รอผลตรวจสอบลายมือชื่อกรรมการ"), on=D(2026, 11, 9))
    hub.sweep(D(2026, 11, 9), maps={})
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 11, 6), 3)]


def test_the_mappings_default_reason_is_used_when_the_record_has_none(hub) -> None:
    hub.put(standard("R-1", reason=None))
    hub.sweep(D(2026, 11, 6))
    with hub.store.session() as s:
        body = s.scalar(select(Outbox.body).where(Outbox.channel == "email"))
    assert "อยู่ระหว่างการตรวจสอบเอกสารและข้อเท็จจริงประกอบการพิจารณา" in body


def test_completion_stops_delay_notices_and_owes_one_result_notice(hub) -> None:
    hub.put(standard("R-1"), standard("R-2"))
    hub.sweep(D(2026, 11, 6))
    hub.put(standard("R-1", status="completed", completed_on="2026-11-10"), on=D(2026, 11, 10))
    first = hub.sweep(D(2026, 11, 13))
    second = hub.sweep(D(2026, 11, 20))
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 11, 6), 0), ("result", 1, D(2026, 11, 10), 0)]
    assert [k for _, k, _, _ in hub.outbox("R-2")] == [1, 2, 3]
    assert (first["requests"], second["requests"]) == (2, 1), "a finished request leaves the sweep"


def test_withdrawn_request_gets_nothing_more_and_leaves_the_sweep(hub) -> None:
    hub.put(standard("R-1"))
    hub.sweep(D(2026, 11, 6))
    hub.put(standard("R-1", status="withdrawn"), on=D(2026, 11, 9))
    hub.sweep(D(2026, 11, 13))
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 11, 6), 0)]
    assert hub.sweep(D(2026, 11, 20))["requests"] == 0


def test_waiting_for_the_applicant_pauses_the_clock(hub) -> None:
    # due Thu 5 Nov; waiting Wed 4 → Mon 9 (answer) pauses Wed 4–Sun 8 = 3 working days → due Tue 10
    hub.put(standard("R-1"))
    hub.put(standard("R-1", status="waiting_applicant"), on=D(2026, 11, 4))
    assert hub.sweep(D(2026, 11, 6))["overdue"] == 0
    assert hub.request("R-1").due_on is None, "no due date while the applicant has the file"
    hub.put(standard("R-1", status="in_progress", reason="x"), on=D(2026, 11, 9))
    hub.sweep(D(2026, 11, 10))
    row = hub.request("R-1")
    assert row.derived_pauses == [{"from": "2026-11-04", "to": "2026-11-08", "reason": "waiting_applicant"}]
    assert row.due_on == D(2026, 11, 10)
    assert hub.outbox("R-1") == []


def test_a_changed_manual_recomputes_due_dates_and_records_why(hub) -> None:
    hub.put(standard("R-1"))
    hub.sweep(D(2026, 11, 3))
    longer = dataclasses.replace(hub.registry.manuals["MOC-DBD-002"], processing_days=10)
    reg = dataclasses.replace(hub.registry, manuals={**hub.registry.manuals, "MOC-DBD-002": longer})
    hub.sweep(D(2026, 11, 4), reg=reg)
    assert hub.request("R-1").due_on == D(2026, 11, 16)  # 10 working days after Mon 2 Nov
    changes = hub.events("R-1", "due")
    assert [(old, new) for old, new, _ in changes] == [(None, "2026-11-05"), ("2026-11-05", "2026-11-16")]
    assert changes[-1][2].startswith("MOC-DBD-002:10w@")


def test_a_new_special_day_off_recomputes_due_dates_with_its_version(hub, tmp_path: Path) -> None:
    hub.put(standard("R-1"))
    hub.sweep(D(2026, 11, 3))
    path = tmp_path / "calendar.yaml"
    path.write_text('version: "2026.11-2"\nspecial_days_off:\n  - {date: 2026-11-04, name: วันหยุดพิเศษ}\n',
                    encoding="utf-8")
    hub.sweep(D(2026, 11, 4), cal=ThaiCalendar.load(path))
    assert hub.request("R-1").due_on == D(2026, 11, 6)  # Wed 4 Nov off: Tue 3, Thu 5, Fri 6
    old, new, why = hub.events("R-1", "due")[-1]
    assert (old, new) == ("2026-11-05", "2026-11-06") and "2026.11-2" in why


def test_a_manual_back_in_draft_keeps_the_due_date_it_gave_and_never_makes_one(hub) -> None:
    """data/registry/manuals.csv's MOC-DBD-006 is a draft (no processing time). Say it said 30 calendar
    days when R-1 was taken and went back to draft since: R-1's due date stands and its notices go on.
    R-2, taken since, gets no due date from the draft, and no notice."""
    draft = hub.registry.manuals["MOC-DBD-006"]
    assert draft.is_draft
    then = dataclasses.replace(hub.registry, manuals={
        **hub.registry.manuals, draft.manual_id: dataclasses.replace(draft, processing_days=30)})
    fbl = {"agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-FBL"},
           "process_code": "DBD-FBL-02", "manual": "MOC-DBD-006"}
    hub.put(standard("R-1", **fbl))
    hub.sweep(D(2026, 11, 3), reg=then)
    assert hub.request("R-1").due_on == D(2026, 12, 2)  # Mon 2 Nov + 30 days
    hub.put(standard("R-2", **fbl), on=D(2026, 11, 4))

    stats = hub.sweep(D(2026, 12, 3))  # the registry file: a draft again

    assert stats["no_manual"] == 2 and stats["due_changed"] == 0
    assert hub.request("R-1").due_on == D(2026, 12, 2)
    assert [(old, new) for old, new, _ in hub.events("R-1", "due")] == [(None, "2026-12-02")]  # set once, kept
    assert hub.outbox("R-1") == [("delay", 1, D(2026, 12, 3), 0)]
    assert hub.request("R-2").due_on is None and hub.outbox("R-2") == [] and hub.outbox("R-2", "opdc") == []
