"""Shared fixtures. Every test gets its own working folder and hub store; nothing touches var/. Also here: the
agency registry, the central queue on a pinned clock (its helpers in queue_setup.py), the app under a real
uvicorn server (in a thread, or in processes of its own as deployed), the local SMS gateway stand-in, and
Debian's Chromium for the browser tests (their helpers in browser.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from queue_setup import KEY, Clock, at

if TYPE_CHECKING:
    from delayhub.queueing.booking import Queue
    from delayhub.registry import Registry
    from delayhub.sinks import SmsSink, SmtpSink
    from delayhub.store import HubStore

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("DELAYHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CHROMIUM = "/usr/bin/chromium"  # Debian's, driven by Playwright: never `playwright install`
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_ROOT", str(ROOT))
    monkeypatch.setenv("DELAYHUB_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("DELAYHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("DELAYHUB_TODAY", raising=False)
    monkeypatch.setenv("DELAYHUB_WEB_GC_TUNING", "0")  # many apps in one process: the collector stays as it is


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
def store_url(request: pytest.FixtureRequest) -> str:
    """The hub store on SQLite always, and on the real PostgreSQL (a schema reset per test)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The test's own SQLite hub store, a file in its tmp folder."""
    return f"sqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """The session's PostgreSQL database with an empty public schema: this test's alone."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return postgres_url


@pytest.fixture
def store(store_url: str):
    from delayhub.store import HubStore

    hub = HubStore.open(store_url)
    yield hub
    hub.close()


@pytest.fixture
def sqlite_store(sqlite_url: str):
    from delayhub.store import HubStore

    hub = HubStore.open(sqlite_url)
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


@pytest.fixture
def registry() -> Registry:
    """The agencies and manuals of data/registry."""
    from delayhub.registry import Registry

    return Registry.load(ROOT / "data" / "registry")


@pytest.fixture
def clock() -> Clock:
    """The queue's clock, pinned to Wednesday 25 November 2026 at 08:00, before opening: every slot of the day
    can be booked. A test moves it (``clock.now = at(...)``); a module starts it elsewhere by its own fixture."""
    return Clock(at("08:00"))


@pytest.fixture
def queue(store: HubStore, registry: Registry, clock: Clock) -> Queue:
    """The central queue on the test's hub store: every agency's settings in data/queue, the test key, the
    pinned clock."""
    from delayhub.queueing.booking import Queue
    from delayhub.queueing.settings import load_all

    return Queue(store, registry, load_all(registry), KEY, now=clock)


@pytest.fixture
def sms(tmp_path: Path) -> Iterator[SmsSink]:
    """The local SMS gateway stand-in: what it received is in ``sms.received`` and its log."""
    from delayhub.sinks import SmsSink

    sink = SmsSink(tmp_path / "sms" / "gateway.log").start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpSink]:
    """The local mail server stand-in: what it received is in the test's mail/ folder."""
    from delayhub.sinks import SmtpSink

    sink = SmtpSink(tmp_path / "mail").start()
    yield sink
    sink.stop()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``serve(app)``: the app under a real uvicorn server in a thread of this process
    (delayhub.intake.IntakeServer); its address. Every server started is stopped when the test ends."""
    from delayhub.intake import IntakeServer

    servers: list[IntakeServer] = []

    def start(app: Any) -> str:
        servers.append(IntakeServer(app).start())
        return servers[-1].url

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def serve_processes(tmp_path: Path) -> Iterator[Callable[..., list[str]]]:
    """``serve_processes(n, env, *options)``: the web app (delayhub.web.app:create_app) under uvicorn in ``n``
    processes of its own, as deployed, started side by side (``options`` such as ``"--workers", "2"``); their
    addresses once each answers /health. ``env`` comes on top of this environment, with the test's DELAYHUB_VAR
    and this checkout's DELAYHUB_ROOT. Every one is stopped (SIGINT, as on shutdown) when the test ends."""
    from delayhub.sinks import _free_port

    servers: list[subprocess.Popen[bytes]] = []

    def start(n: int, env: dict[str, str], *options: str) -> list[str]:
        environment = {**os.environ, "DELAYHUB_VAR": str(tmp_path / "var"), "DELAYHUB_ROOT": str(ROOT), **env}
        started = []
        for _ in range(n):
            port = _free_port("127.0.0.1")
            server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "delayhub.web.app:create_app",
                                       "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                                       "--no-access-log", *options], env=environment, cwd=ROOT)
            servers.append(server)
            started.append((server, f"http://127.0.0.1:{port}"))
        for server, base in started:
            _wait_for_health(server, base)
        return [base for _, base in started]

    yield start
    for server in servers:
        server.send_signal(signal.SIGINT)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_for_health(server: subprocess.Popen[bytes], base: str) -> None:
    """Until the process at ``base`` answers /health (30 s at most); fails if it stops first."""
    import requests

    for _ in range(600):
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if server.poll() is not None:
            raise RuntimeError("uvicorn stopped")
        time.sleep(0.05)
    raise RuntimeError("uvicorn did not start")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, one for each browser test module (their helpers: browser.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
