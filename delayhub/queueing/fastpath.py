"""Booking from async code (the JSON API): on PostgreSQL the one booking statement of ``booking.PG_BOOK``
on a small pool of connections, in autocommit: one round trip, no ORM, no thread hop. On SQLite the same
``Queue.book`` in a worker thread (SQLite runs one writer at a time anyway).

psycopg opens and authenticates each connection; the statement is then prepared once per connection and
run through psycopg's libpq binding (``psycopg.pq``) directly, with the parameters in libpq's text form.
psycopg's own async ``execute`` costs about 90 µs of Python a call here, this about 35 µs: a third of
the CPU the whole booking takes in Python, which is what bounds bookings per second on two cores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
import psycopg
from psycopg import pq

from ..errors import DelayhubError
from .booking import AUTO_PICK_TRIES, PERSON_INDEX, PG_BOOK, Booking, Plan, Queue
from .rules import Refused

POOL_ENV = "DELAYHUB_QUEUE_POOL"  # connections per process for the booking statement
DEFAULT_POOL = 10
UNIQUE_VIOLATION = b"23505"


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """SQLAlchemy's ``:name`` parameters as libpq's ``$1, $2…`` (``::type`` casts left alone), and the
    names in their order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):(\w+)", number, sql), tuple(names)


def text_param(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text input form (the statement casts each one to its type)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat().encode()
    if isinstance(value, list | tuple):
        return ("{" + ",".join(str(int(v)) for v in value) + "}").encode()
    return str(value).encode()


class StatementFailed(DelayhubError):
    pass


class Connection:
    """One connection with the booking statements prepared on it."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn, self.pg = conn, conn.pgconn
        self.prepared: set[bytes] = set()
        self.dirty = False  # left mid-statement (cancelled, network error): not to be used again

    async def run(self, name: bytes, sql: str, params: Sequence[bytes | None]) -> list[bytes | None] | None:
        """The first row of the prepared statement ``name`` (prepared from ``sql`` on first use), or None."""
        if name not in self.prepared:
            self.pg.send_prepare(name, sql.encode())
            await self._results()
            self.prepared.add(name)
        self.pg.send_query_prepared(name, params)
        rows = await self._results()
        return rows[0] if rows else None

    async def _results(self) -> list[list[bytes | None]]:
        """Wait for the statement sent to finish, without blocking the loop; its rows, or the error raised."""
        loop, fd = asyncio.get_running_loop(), self.pg.socket
        while self.pg.flush():  # the parameters did not fit in the socket's buffer at once
            await _ready(loop, fd, write=True)
        rows: list[list[bytes | None]] = []
        failed = None
        while True:
            self.pg.consume_input()
            if self.pg.is_busy():
                await _ready(loop, fd)
                continue
            res = self.pg.get_result()
            if res is None:
                break
            if res.status == pq.ExecStatus.TUPLES_OK:
                rows += [[res.get_value(r, i) for i in range(res.nfields)] for r in range(res.ntuples)]
            elif res.status != pq.ExecStatus.COMMAND_OK:
                failed = res
        if failed is not None:
            if failed.error_field(pq.DiagnosticField.SQLSTATE) == UNIQUE_VIOLATION and \
                    failed.error_field(pq.DiagnosticField.CONSTRAINT_NAME) == PERSON_INDEX.encode():
                raise Refused("already_booked", "national_id", status=409)
            raise StatementFailed(failed.get_error_message())
        return rows

    @property
    def broken(self) -> bool:
        return self.dirty or self.pg.status != pq.ConnStatus.OK


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, write: bool = False) -> None:
    done = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else (loop.add_reader, loop.remove_reader)
    add(fd, done.set_result, None)
    try:
        await done
    finally:
        remove(fd)


class AsyncPool:
    """At most ``size`` connections, opened when first needed; a broken one is dropped and replaced."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo, self.size = conninfo, size
        self._idle: asyncio.LifoQueue[Connection] | None = None
        self._opened = 0

    async def acquire(self) -> Connection:
        if self._idle is None:
            self._idle = asyncio.LifoQueue()
        if self._idle.empty() and self._opened < self.size:
            self._opened += 1
            try:
                conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            except BaseException:
                self._opened -= 1
                raise
            conn.pgconn.nonblocking = 1
            return Connection(conn)
        return await self._idle.get()

    async def release(self, conn: Connection) -> None:
        assert self._idle is not None
        if conn.broken:
            self._opened -= 1
            await conn.conn.close()
            return
        self._idle.put_nowait(conn)

    async def close(self) -> None:
        while self._idle is not None and not self._idle.empty():
            await self._idle.get_nowait().conn.close()


class AsyncBooker:
    """``await book(plan)``: the booking of ``Queue.book``, without blocking the event loop."""

    def __init__(self, queue: Queue, size: int | None = None) -> None:
        self.queue = queue
        self.pool: AsyncPool | None = None
        if queue.dialect == "postgresql":
            url = queue.store.engine.url.set(drivername="postgresql")
            self.pool = AsyncPool(url.render_as_string(hide_password=False),
                                  size or int(os.environ.get(POOL_ENV) or DEFAULT_POOL))
            self.sql = {auto: numbered(sql) for auto, sql in PG_BOOK.items()}

    async def book(self, plan: Plan) -> Booking:
        if self.pool is None:
            return await anyio.to_thread.run_sync(self.queue.book, plan)
        sql, names = self.sql[plan.auto]
        values = plan.params()
        params = [text_param(values[n]) for n in names]
        name = b"queue_book_auto" if plan.auto else b"queue_book"
        for _ in range(AUTO_PICK_TRIES if plan.auto else 1):
            conn = await self.pool.acquire()
            try:
                row = await conn.run(name, sql, params)
            except (Refused, StatementFailed):
                raise  # answered in full: the connection is clean
            except BaseException:
                conn.dirty = True
                raise
            finally:
                await self.pool.release(conn)
            if row is not None:
                return self.queue.booked(plan, (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0),
                                                (row[3] or b"").decode()))
        raise Refused("full", "slot", status=409)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
