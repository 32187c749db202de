"""Migrations carry existing data forward on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from alembic import command
from sqlalchemy import create_engine, text

from delayhub.store import HubStore
from delayhub.store.migrate import alembic_config


def test_upgrade_from_the_first_revision_keeps_requests_and_fills_new_columns(
        store_url: str, old_store: Callable[[str], int]) -> None:
    old_store("0001")
    hub = HubStore.open(store_url)  # upgrades to head
    with hub.engine.connect() as conn:
        row = conn.execute(text("SELECT request_no, known_on, last_delay_seq, needs_sweep, derived_pauses"
                                " FROM requests")).one()
    hub.close()
    assert row.request_no == "OLD-1"
    assert row.known_on in (dt.date(2026, 11, 2), "2026-11-02")
    assert row.last_delay_seq == 0 and bool(row.needs_sweep) is True


def test_the_migrated_schema_is_the_one_the_code_declares(store_url: str) -> None:
    """A column or index added to the models without a migration (or the reverse) fails here, on both
    databases, before it fails in production."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from delayhub.store.models import Base

    HubStore.open(store_url).close()
    engine = create_engine(store_url)
    with warnings.catch_warnings(), engine.connect() as conn:
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes: skipped, said so
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    # expression indexes are reflected as plain columns on PostgreSQL: compared by name only
    expression = {"ix_requests_agency_request_no_c"}
    drift = [d for d in diff if not (d[0] in ("add_index", "remove_index") and d[1].name in expression)]
    assert drift == []


def test_the_tracking_counters_need_no_flush_to_disk_on_postgresql(store_url: str) -> None:
    """Every look-up writes its counters: on PostgreSQL they live in an UNLOGGED table, so the commit does
    not wait for the disk; going back makes the table logged again."""
    HubStore.open(store_url).close()
    engine = create_engine(store_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        return
    persistence = "SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'"
    with engine.connect() as conn:
        assert conn.execute(text(persistence)).scalar() == "u"
    command.downgrade(alembic_config(store_url), "0012")
    with engine.connect() as conn:
        assert conn.execute(text(persistence)).scalar() == "p"
    engine.dispose()
