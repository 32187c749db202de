"""The hall display's live calls (queue number → counter) across every web process.

A call is a row of ``queue_hall_calls`` written in the call's own transaction. Readers always read those
rows by id; a notification only wakes them, so a missed one loses nothing (each stream also re-reads on
its keep-alive tick) and a display that reconnects catches up from its ``Last-Event-ID``.

How a process is woken, whichever process made the call:

- PostgreSQL: ``NOTIFY delayhub_queue_hall, '<agency>'`` inside the call's transaction (sent at commit;
  channels are per database, so per store), and one dedicated psycopg connection per process that
  LISTENs, in a thread, while some display is connected.
- Redis, when ``DELAYHUB_REDIS_URL`` is set: a publish after the commit on a channel named after the
  store, and a subscriber thread instead of LISTEN (hosts that share Redis but not a PostgreSQL server's
  notifications, or SQLite processes on one machine).
- SQLite (the embedded default, one machine): a thread polls ``max(id)`` every half second.

The process that made the call also wakes its own displays at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..store import HubStore
from ..store.models import QueueHallCall

REDIS_ENV = "DELAYHUB_REDIS_URL"
KEEPALIVE_ENV = "DELAYHUB_HALL_KEEPALIVE_SECONDS"  # a stream's keep-alive and re-read, without any wake
PG_CHANNEL = "delayhub_queue_hall"
POLL_SECONDS = 0.5  # SQLite: how often a process looks for new calls
IDLE_SECONDS = 30.0  # a listener with no display connected for this long stops (and starts again on demand)
RETRY_SECONDS = (0.5, 1, 2, 5, 10)  # back-off when the listener's connection fails

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HallCall:
    """One call as the hall shows it: no name, no phone, only the number, the counter and the service."""

    id: int
    agency: str
    queue_no: str
    counter: str
    service: str
    kind: str  # call | recall
    at: dt.datetime


def keepalive_seconds() -> float:
    return float(os.environ.get(KEEPALIVE_ENV) or 15)


# --- writing: in the call's transaction, and after its commit ---------------------------------------------

def notify_in(session: Session, agency: str) -> None:
    """PostgreSQL: queue a NOTIFY in the caller's transaction (delivered when, and only if, it commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :agency)"), {"channel": PG_CHANNEL, "agency": agency})


def announced(store: HubStore, agency: str) -> None:
    """After a call's commit: wake this process's displays now, and other hosts' through Redis if set."""
    feed = _feeds.get(store)
    if feed is not None:
        feed.wake(agency)
    url = os.environ.get(REDIS_ENV)
    if url:
        try:
            _redis(url).publish(redis_channel(store), agency)
        except Exception as exc:  # the call is saved; displays catch up on their next re-read
            log.warning("hall: could not publish to Redis: %s", type(exc).__name__)


def redis_channel(store: HubStore) -> str:
    """The Redis channel of one hub store: several stores may share one Redis."""
    url = store.engine.url
    name = str(Path(url.database or "").resolve()) if url.get_backend_name() == "sqlite" else str(url.database)
    return "delayhub:queue-hall:" + hashlib.sha256(name.encode()).hexdigest()[:16]


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _redis(url: str) -> Any:
    import redis

    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return client


# --- reading: always from the table, by id ----------------------------------------------------------------

def _call(row: Any) -> HallCall:
    return HallCall(row.id, row.agency, row.queue_no, row.counter, row.service, row.kind, row.at)


def calls_after(store: HubStore, agency: str, day: dt.date, after: int, limit: int = 50) -> list[HallCall]:
    """The agency's calls of ``day`` after id ``after``, oldest first."""
    h = QueueHallCall
    with store.session() as s:
        rows = s.execute(select(h).where(h.agency == agency, h.day == day, h.id > after)
                         .order_by(h.id).limit(limit)).scalars().all()
    return [_call(r) for r in rows]


def latest(store: HubStore, agency: str, day: dt.date, n: int = 8) -> list[HallCall]:
    """The agency's last ``n`` calls of ``day``, newest first (what a display shows when it opens)."""
    h = QueueHallCall
    with store.session() as s:
        rows = s.execute(select(h).where(h.agency == agency, h.day == day)
                         .order_by(h.id.desc()).limit(n)).scalars().all()
    return [_call(r) for r in rows]


# --- waking: one feed per store and process ----------------------------------------------------------------

class Waiter:
    """One connected display's wake-up flag, set from any thread, awaited in its event loop."""

    def __init__(self, agency: str) -> None:
        self.agency = agency
        self.loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def poke(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # its loop has closed: the display is gone
            pass

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, timeout: float) -> bool:
        """True when woken, False after ``timeout`` seconds without a wake."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class Feed:
    """Wakes this process's connected displays when a call is written by any process. The listener thread
    runs only while a display is connected (and ``IDLE_SECONDS`` after the last one leaves)."""

    def __init__(self, store: HubStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._waiters: dict[str, set[Waiter]] = {}
        self._thread: threading.Thread | None = None
        self._idle_since: float | None = None
        self.backend = ("redis" if os.environ.get(REDIS_ENV) else
                        "postgresql" if store.engine.dialect.name == "postgresql" else "poll")

    def subscribe(self, agency: str) -> Waiter:
        """A waiter for ``agency``'s calls; call from the event loop that will await it."""
        waiter = Waiter(agency)
        with self._lock:
            self._waiters.setdefault(agency, set()).add(waiter)
            self._idle_since = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"hall-{self.backend}", daemon=True)
                self._thread.start()
        return waiter

    def unsubscribe(self, waiter: Waiter) -> None:
        with self._lock:
            mine = self._waiters.get(waiter.agency)
            if mine is not None:
                mine.discard(waiter)
                if not mine:
                    del self._waiters[waiter.agency]

    def wake(self, agency: str | None = None) -> None:
        """Wake the displays of ``agency`` (None: all of them, e.g. after a reconnect)."""
        with self._lock:
            if agency is None:
                waiters = [w for group in self._waiters.values() for w in group]
            else:
                waiters = list(self._waiters.get(agency, ()))
        for w in waiters:
            w.poke()

    def _running(self) -> bool:
        """Go on listening? False (and the thread forgotten) once nobody has watched for a while."""
        with self._lock:
            if self._waiters:
                self._idle_since = None
                return True
            now = time.monotonic()
            if self._idle_since is None:
                self._idle_since = now
            if now - self._idle_since < IDLE_SECONDS:
                return True
            self._thread = None
            return False

    def _run(self) -> None:
        listen = {"redis": self._listen_redis, "postgresql": self._listen_pg, "poll": self._poll}[self.backend]
        failures = 0
        while self._running():
            try:
                listen(lambda: self.wake(None))  # whatever came while not listening is read now
                return
            except Exception as exc:
                delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("hall: %s listener failed (%s), again in %ss", self.backend, type(exc).__name__, delay)
                time.sleep(delay)

    def _listen_pg(self, listening: Any) -> None:
        import psycopg

        engine = self.store.engine
        args, params = engine.dialect.create_connect_args(engine.url)
        with psycopg.connect(*args, **params, autocommit=True) as conn:
            conn.execute(f"LISTEN {PG_CHANNEL}")
            listening()
            while self._running():
                for note in conn.notifies(timeout=1.0):
                    self.wake(note.payload or None)

    def _listen_redis(self, listening: Any) -> None:
        import redis

        client = redis.Redis.from_url(os.environ[REDIS_ENV], socket_connect_timeout=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(redis_channel(self.store))
            listening()
            while self._running():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    data = message["data"]
                    self.wake(data.decode() if isinstance(data, bytes) else str(data))
        finally:
            pubsub.close()
            client.close()

    def _poll(self, listening: Any) -> None:
        def last() -> int:
            with self.store.session() as s:
                return int(s.execute(select(func.max(QueueHallCall.id))).scalar() or 0)

        seen = last()
        listening()
        while self._running():
            time.sleep(POLL_SECONDS)
            now = last()
            if now != seen:
                seen = now
                self.wake(None)


_feeds: weakref.WeakKeyDictionary[HubStore, Feed] = weakref.WeakKeyDictionary()
_feeds_lock = threading.Lock()


def feed_of(store: HubStore) -> Feed:
    """This process's feed for ``store`` (made on first use)."""
    with _feeds_lock:
        found = _feeds.get(store)
        if found is None:
            found = _feeds[store] = Feed(store)
        return found
