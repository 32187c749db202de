"""Migrations carry existing data forward on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import create_engine, text

from delayhub.store import HubStore
from delayhub.store.migrate import alembic_config


def test_upgrade_from_the_first_revision_keeps_requests_and_fills_new_columns(store_url: str) -> None:
    command.upgrade(alembic_config(store_url), "0001")
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO requests (agency, request_no, ministry, department, process_code, manual_id, submitted_on,"
            " pauses, status, source_connector, source_record_id, source_fetched_at, checksum, created_at, updated_at)"
            " VALUES ('MOC-DBD', 'OLD-1', 'MOC', 'MOC-DBD', 'DBD-REG-01', 'MOC-DBD-001', '2026-11-02', '[]',"
            " 'in_progress', 'moc-dbd-registration', '1', '2026-11-02 01:00:00', :c, '2026-11-02 01:00:00',"
            " '2026-11-02 01:00:00')"), {"c": "0" * 64})
    engine.dispose()
    hub = HubStore.open(store_url)  # upgrades to head
    with hub.engine.connect() as conn:
        row = conn.execute(text("SELECT request_no, known_on, last_delay_seq, needs_sweep, derived_pauses"
                                " FROM requests")).one()
    hub.close()
    assert row.request_no == "OLD-1"
    assert row.known_on in (dt.date(2026, 11, 2), "2026-11-02")
    assert row.last_delay_seq == 0 and bool(row.needs_sweep) is True
