"""A draft citizen's manual: data/registry/manuals.csv's MOC-DBD-006, whose processing_days is left
empty until the manual is completed. Read with the real registry file by every consumer: the registry
itself, a back office's record naming it (ingest → quarantine), the store, the OPDC export and the
lateness report. The desk's side is in test_desk.py, the sweep's in test_sweep.py."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from test_sweep import standard

from connectors.base import Page
from delayhub.calendar import ThaiCalendar
from delayhub.config import DispatchConfig, SmsConfig, SmtpConfig
from delayhub.dispatch import dispatch
from delayhub.errors import ConfigError
from delayhub.exports import write_opdc_export
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from delayhub.reports.lateness import lateness_report
from delayhub.reports.scope import AgencyScope
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.store.models import Manual, Quarantine, Request
from delayhub.sweep import sweep
from demo.backoffice import dbd_records

ROOT = Path(__file__).resolve().parents[1]
DRAFT = "MOC-DBD-006"
FBL = {"agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-FBL"}, "process_code": "DBD-FBL-02"}
TODAY = dt.date(2026, 11, 25)


def test_the_registry_file_holds_a_draft_beside_complete_manuals(registry: Registry) -> None:
    draft = registry.manuals[DRAFT]
    assert (draft.division, draft.process_code, draft.processing_days, draft.is_draft) == \
        ("MOC-DBD-FBL", "DBD-FBL-02", None, True)
    complete = [m for m in registry.manuals.values() if not m.is_draft]
    assert complete and all(isinstance(m.processing_days, int) and m.processing_days >= 1 for m in complete)


@pytest.mark.parametrize(("value", "expected"), [
    ("สามสิบ", "line 8: processing_days 'สามสิบ' is not a whole number (leave it empty for a draft manual"),
    ("2.5", "line 8: processing_days '2.5' is not a whole number"),
    ("0", "line 8: processing_days must be at least 1 (got 0); leave it empty for a draft manual"),
    ("-3", "line 8: processing_days must be at least 1 (got -3)"),
], ids=["thai-word", "fraction", "zero", "negative"])
def test_a_processing_time_that_is_not_one_is_refused_with_the_line(tmp_path: Path, value: str,
                                                                    expected: str) -> None:
    folder = tmp_path / "registry"
    shutil.copytree(ROOT / "data" / "registry", folder)
    path = folder / "manuals.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[7][0] == "MOC-DIP-001"  # line 8 of the file
    rows[7][4] = value
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    with pytest.raises(ConfigError) as caught:
        Registry.load(folder)
    assert str(caught.value).startswith(f"{path}: {expected}")


class OnePage:
    """A connector that has one page of records (what ``ingest`` asks of one)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def read(self, cursor: str | None) -> Iterator[Page]:
        yield Page(records=self.records, cursor="2569-11-25 09:00:00")


def test_a_record_naming_a_draft_manual_is_quarantined_with_the_reason(store: HubStore, registry: Registry,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    records = [r for r in dbd_records(TODAY)[:6] if r["app_no"]][:2]
    drafted = {**records[1], "unit_code": "FBL", "svc_code": "DBD-FBL-02", "manual_ref": DRAFT}

    figures = ingest(load_mapping(ROOT / "mappings" / "moc-dbd-registration.yaml"), OnePage([records[0], drafted]),
                     store, registry)

    assert (figures["read"], figures["stored"], figures["quarantined"]) == (2, 1, 1)
    with store.session() as s:
        assert list(s.scalars(select(Request.request_no))) == [records[0]["app_no"]]  # no request, no due date
        [kept] = s.scalars(select(Quarantine))
    assert (kept.source_record_id, kept.field) == (drafted["app_id"], "manual_id")
    assert kept.reason == ("manual 'MOC-DBD-006' is a draft: data/registry/manuals.csv gives it no processing_days "
                           "yet, so no due date can be set; complete the manual, then the record can be taken")


def test_the_store_keeps_the_draft_without_a_processing_time(store: HubStore, registry: Registry) -> None:
    store.sync_registry(registry)
    with store.session() as s:
        draft, complete = s.get(Manual, DRAFT), s.get(Manual, "MOC-DBD-005")
        assert (draft.process_name, draft.processing_days) == (registry.manuals[DRAFT].process_name, None)
        assert complete.processing_days == 60
    completed = dataclasses.replace(registry.manuals[DRAFT], processing_days=30)  # the manual is completed
    assert store.sync_registry(dataclasses.replace(registry, manuals={**registry.manuals, DRAFT: completed})) == 1
    with store.session() as s:
        assert s.get(Manual, DRAFT).processing_days == 30


def test_exports_and_reports_read_requests_whose_manual_is_a_draft(store: HubStore, registry: Registry,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """R-1 was taken while the manual said 30 days (due Wed 2 Dec), then the manual went back to draft;
    R-2 came in since and has no due date. The OPDC's export and the lateness report list them."""
    then = dataclasses.replace(registry, manuals={
        **registry.manuals, DRAFT: dataclasses.replace(registry.manuals[DRAFT], processing_days=30)})
    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-02")
    store.upsert_requests([standard("R-1", manual=DRAFT, **FBL)])
    sweep(store, then, ThaiCalendar.load(), {}, DispatchConfig(), dt.date(2026, 11, 2))
    store.upsert_requests([standard("R-2", manual=DRAFT, **FBL)])
    monkeypatch.delenv("DELAYHUB_TODAY")
    sweep(store, registry, ThaiCalendar.load(), {}, DispatchConfig(), dt.date(2026, 12, 3))  # the file: a draft
    smtp, sms = SmtpSink(tmp_path / "mail").start(), SmsSink(tmp_path / "sms.log").start()
    try:
        dispatch(store, DispatchConfig(smtp=SmtpConfig(port=smtp.port), sms=SmsConfig(url=sms.url)),
                 registry=registry)
    finally:
        smtp.stop()
        sms.stop()
    sent_on = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()

    csv_path, _json_path, count = write_opdc_export(store, sent_on, tmp_path / "opdc")
    report = lateness_report(store, registry, AgencyScope("division", "MOC-DBD-FBL"), dt.date(2026, 11, 1),
                             dt.date(2026, 12, 3))

    assert count == 1
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["request_no"], row["manual_id"], row["kind"], row["sequence"]) == ("R-1", DRAFT, "delay", "1")
    [late] = report.longest
    assert (late.request_no, late.due_on, late.days_overdue) == ("R-1", dt.date(2026, 12, 2), 1)
    assert late.process == registry.manuals[DRAFT].process_name
    assert (report.total.open, report.total.overdue) == (2, 1)  # R-2 is open, with no due date to be late by
