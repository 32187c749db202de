"""The look-back window: a row committed late under an older timestamp is still read."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import connectors
from connectors.base import Secrets
from delayhub.config import project_root
from delayhub.cursors import parse_window, shift_back
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from demo.backoffice import DBD_KEY, BackOffice

TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(("cursor", "window", "expected"), [
    pytest.param("2569-11-25 16:14:00", "2 hours", "2569-11-25 14:14:00", id="be-timestamp"),
    pytest.param("2026-11-25T09:58:00+07:00", "30 minutes", "2026-11-25T09:28:00+07:00", id="iso-with-zone"),
    pytest.param("2570-01-01 01:00:00", "2 hours", "2569-12-31 23:00:00", id="be-year-boundary"),
    pytest.param("2569-11-25", "1 day", "2569-11-24", id="be-date"),
    pytest.param("๒๕๖๙-๑๑-๒๕ ๑๐:๐๐:๐๐", "1 hour", "2569-11-25 09:00:00", id="thai-digits"),
    pytest.param("48213", "2 hours", "48213", id="an-id-is-kept"),
])
def test_shift_back_keeps_the_back_offices_own_form(cursor: str, window: str, expected: str) -> None:
    assert shift_back(cursor, parse_window(window)) == expected


def test_window_must_be_plain_words() -> None:
    with pytest.raises(ValueError, match="not a window"):
        parse_window("2h")


@pytest.mark.parametrize("lookback", [None, "2 hours"], ids=["no-lookback", "two-hours"])
def test_a_late_committed_row_is_caught_only_with_a_lookback(sqlite_store, lookback: str | None) -> None:
    mapping = load_mapping(project_root() / "mappings" / "moc-dbd-registration.yaml")
    mapping = dataclasses.replace(mapping, lookback=parse_window(lookback) if lookback else None)
    office = BackOffice(TODAY).start()
    try:
        build = lambda: connectors.build(mapping.source, Secrets(office.url, password=DBD_KEY))  # noqa: E731
        first = ingest(mapping, build(), sqlite_store, Registry.load())
        cursor = sqlite_store.get_cursor(mapping.id)
        late = next(r for r in office.dbd if r["state"] == "อยู่ระหว่างพิจารณา" and r["last_update"] < cursor)
        late["state"] = "อนุมัติ"
        late["finish_date"] = "25/11/2569"
        late["last_update"] = shift_back(cursor, parse_window("1 hour"))  # committed late, stamped earlier
        second = ingest(mapping, build(), sqlite_store, Registry.load())
    finally:
        office.stop()
    assert first["stored"] == 194
    assert second["status_changes"] == (1 if lookback else 0)
    assert sqlite_store.get_cursor(mapping.id) == cursor, "the cursor never moves back"
