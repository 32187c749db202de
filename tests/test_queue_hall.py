"""The hall display across processes: two real uvicorn processes on the same hub store, an officer calling
the next number on process A's counter page, and the hall display's event stream on process B showing it
within seconds. On PostgreSQL (NOTIFY at the call's commit, LISTEN in each process), on SQLite (each
process polls the calls table) and through Redis pub/sub (DELAYHUB_REDIS_URL). The streams' own periodic
re-read is set far beyond the wait, so only a real wake-up can deliver the call in time; a display that
reconnects with Last-Event-ID gets what it missed from the table."""

from __future__ import annotations

import datetime as dt
import json
import queue as queues
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from delayhub.queueing.booking import Queue
from delayhub.queueing.rules import identify
from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.sinks import _free_port
from delayhub.store import HubStore
from delayhub.web.accounts import Role, create_user
from delayhub.web.queue_api import queue_key

SECRET = "hall-test-secret-" + "h" * 40
PASSWORD = "a-long-test-password"
NOW = dt.datetime.fromisoformat("2026-11-25T09:40:00+07:00")
OFFICER = "officer.moc-dbd-reg"
LIVE_WAIT = 20  # seconds: generous, and far below the streams' own re-read (KEEPALIVE)
KEEPALIVE = "600"


def prepare(url: str) -> None:
    """The schema, an officer of a division of กรมพัฒนาธุรกิจการค้า, and one walk-in waiting (A001)."""
    store = HubStore.open(url)
    try:
        registry = Registry.load()
        with store.transaction() as s:
            create_user(s, registry, username=OFFICER, display_name="เจ้าหน้าที่ทะเบียน", role=Role.OFFICER,
                        agency="MOC-DBD-REG", password=PASSWORD)
        queue = Queue(store, registry, load_all(registry), queue_key(SECRET), now=lambda: NOW)
        queue.book(queue.plan("walk_in", "MOC-DBD", "REG", identify("นายรอ เรียกคิว", "", "0811112222")))
    finally:
        store.close()


@pytest.fixture
def apps(serve_processes: Callable[..., list[str]]) -> Callable[..., list[str]]:
    """``apps(url, n, **env)``: the app on the hub store at ``url`` in ``n`` uvicorn processes of its own."""

    def start(url: str, n: int, **env: str) -> list[str]:
        return serve_processes(n, {"DELAYHUB_DATABASE_URL": url, "DELAYHUB_WEB_SECRET": SECRET,
                                   "DELAYHUB_NOW": NOW.isoformat(), "DELAYHUB_HALL_KEEPALIVE_SECONDS": KEEPALIVE,
                                   **env})

    return start


class Stream:
    """A hall display's event stream read in a thread, as an EventSource would."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.events: queues.Queue[dict[str, Any]] = queues.Queue()
        self.opened = threading.Event()
        self.response = requests.get(f"{base}/hall/MOC-DBD/events", headers=headers or {}, stream=True,
                                     timeout=(10, 120))
        assert self.response.status_code == 200
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self.socket = self.response.raw.connection.sock  # to hang up from outside the reading thread
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.opened.wait(30), "the stream sent nothing"

    def _read(self) -> None:
        event: dict[str, Any] = {}
        try:
            for raw in self.response.iter_lines(chunk_size=1):
                line = raw.decode()
                self.opened.set()
                if not line:
                    if "data" in event:
                        self.events.put({**json.loads(event["data"]), "event_id": event.get("id")})
                    event = {}
                elif not line.startswith(":"):
                    field, _, value = line.partition(":")
                    event[field] = value.lstrip()
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test

    def next(self, timeout: float = LIVE_WAIT) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        """Hang up as a closed browser tab does (closing the response alone waits for the reading thread)."""
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.response.close()
        self.thread.join(timeout=10)


def call_next_on_counter_page(base: str) -> str:
    """Sign in at process A and press "call next" at counter 1; the page's answer."""
    http = requests.Session()
    login = http.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    page = http.post(f"{base}/login", data={"csrf_token": token, "username": OFFICER, "password": PASSWORD,
                                            "next": "/counter/MOC-DBD/1"}, timeout=30)
    assert page.url.endswith("/counter/MOC-DBD/1") and "เรียกคิวถัดไป" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = http.post(f"{base}/counter/MOC-DBD/1/call", data={"csrf_token": token}, timeout=30)
    assert done.status_code == 200 and 'id="current-no">A001<' in done.text
    return done.text


def a_call_on_one_process_shows_on_the_other(url: str, apps: Any, **env: str) -> None:
    prepare(url)
    a, b = apps(url, 2, **env)
    display = Stream(b)
    try:
        call_next_on_counter_page(a)
        shown = display.next()
        assert (shown["queue_no"], shown["counter"], shown["kind"]) == ("A001", "1", "call")
        assert shown["service"] == "จดทะเบียนนิติบุคคล" and set(shown) == {
            "id", "queue_no", "counter", "kind", "service", "at", "event_id"}  # no name, no phone
        assert shown["event_id"] == str(shown["id"])
    finally:
        display.close()
    # a display that lost its connection resumes from the last id it showed: nothing lost, nothing twice
    again = Stream(b, headers={"Last-Event-ID": "0"})
    try:
        assert again.next()["queue_no"] == "A001"
        with pytest.raises(queues.Empty):
            again.next(timeout=1)
    finally:
        again.close()
    page = requests.get(f"{b}/hall/MOC-DBD", timeout=30).text  # the page itself, for a browser without scripts
    assert 'id="hall-now-no">A001<' in page and 'id="hall-now-counter">1<' in page


@pytest.mark.postgres
def test_a_call_on_process_a_reaches_the_hall_on_process_b_through_postgresql_notify(pg_url: str,
                                                                                     apps: Any) -> None:
    a_call_on_one_process_shows_on_the_other(pg_url, apps)


def test_a_call_on_process_a_reaches_the_hall_on_process_b_on_sqlite(sqlite_url: str, apps: Any) -> None:
    a_call_on_one_process_shows_on_the_other(sqlite_url, apps)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server_bin = shutil.which("redis-server")
    if server_bin is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = _free_port("127.0.0.1")
    server = subprocess.Popen([server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    try:
        for _ in range(200):
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def test_a_call_on_process_a_reaches_the_hall_on_process_b_through_redis(sqlite_url: str, redis_url: str,
                                                                         apps: Any) -> None:
    # SQLite would also be polled: with Redis set, each process subscribes to Redis instead
    a_call_on_one_process_shows_on_the_other(sqlite_url, apps, DELAYHUB_REDIS_URL=redis_url)
