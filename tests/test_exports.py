"""The OPDC's daily export of every notice sent."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from test_sweep import standard

from delayhub.config import DispatchConfig, SmsConfig, SmtpConfig
from delayhub.dispatch import dispatch
from delayhub.exports import write_opdc_export
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore


def test_the_export_lists_each_notice_once_with_its_channels_and_no_contact_details(
        store: HubStore, tmp_path: Path, monkeypatch) -> None:
    from delayhub.calendar import ThaiCalendar
    from delayhub.registry import Registry
    from delayhub.sweep import sweep

    monkeypatch.setenv("DELAYHUB_TODAY", "2026-11-02")  # the hub learns of both on the day they are filed
    store.upsert_requests([standard("R-1"), standard("R-2", applicant=None)])
    monkeypatch.delenv("DELAYHUB_TODAY")
    sweep(store, Registry.load(), ThaiCalendar.load(), {}, DispatchConfig(), dt.date(2026, 11, 6))
    smtp, sms = SmtpSink(tmp_path / "mail").start(), SmsSink(tmp_path / "sms.log").start()
    try:
        dispatch(store, DispatchConfig(smtp=SmtpConfig(port=smtp.port), sms=SmsConfig(url=sms.url)))
    finally:
        smtp.stop()
        sms.stop()
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()

    csv_path, json_path, count = write_opdc_export(store, today, tmp_path / "opdc")

    assert count == 2
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["request_no"], r["kind"], r["sequence"], r["channels"]) for r in rows] == [
        ("R-1", "delay", "1", "email opdc sms"), ("R-2", "delay", "1", "letter opdc")]
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [n["notice_key"] for n in data["notices"]] == ["MOC-DBD/R-1/delay/1", "MOC-DBD/R-2/delay/1"]
    text = csv_path.read_text(encoding="utf-8-sig") + json_path.read_text(encoding="utf-8")
    assert "0891234567" not in text and "kanokporn@example.co.th" not in text
    assert write_opdc_export(store, today - dt.timedelta(days=1), tmp_path / "opdc")[2] == 0
