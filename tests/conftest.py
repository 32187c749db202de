"""Shared fixtures. Every test gets its own working folder and hub store; nothing touches var/."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("DELAYHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_ROOT", str(ROOT))
    monkeypatch.setenv("DELAYHUB_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("DELAYHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("DELAYHUB_TODAY", raising=False)


def postgres_available() -> bool:
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} does not answer; CI must test against it")
        pytest.skip("PostgreSQL on 127.0.0.1 does not answer")
    import sqlalchemy

    name = f"delayhub_test_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The hub store on SQLite always, and on the real PostgreSQL (a schema reset per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    yield url


@pytest.fixture
def store(store_url: str):
    from delayhub.store import HubStore

    hub = HubStore.open(store_url)
    yield hub
    hub.close()


@pytest.fixture
def sqlite_store(tmp_path: Path):
    from delayhub.store import HubStore

    hub = HubStore.open(f"sqlite:///{tmp_path / 'hub.db'}")
    yield hub
    hub.close()


@pytest.fixture
def old_store(store_url: str):
    """A store migrated only up to ``revision`` holding one request numbered OLD-1 (returns its id): what a
    migration after it must carry forward."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from delayhub.store.migrate import alembic_config

    def make(revision: str) -> int:
        command.upgrade(alembic_config(store_url), revision)
        engine = create_engine(store_url)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO requests (agency, request_no, ministry, department, process_code, manual_id,"
                " submitted_on, pauses, status, source_connector, source_record_id, source_fetched_at, checksum,"
                " created_at, updated_at) VALUES ('MOC-DBD', 'OLD-1', 'MOC', 'MOC-DBD', 'DBD-REG-01',"
                " 'MOC-DBD-001', '2026-11-02', '[]', 'in_progress', 'moc-dbd-registration', '1',"
                " '2026-11-02 01:00:00', :c, '2026-11-02 01:00:00', '2026-11-02 01:00:00')"), {"c": "0" * 64})
            request_id = conn.execute(text("SELECT id FROM requests WHERE request_no = 'OLD-1'")).scalar_one()
        engine.dispose()
        return request_id

    return make
