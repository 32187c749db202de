"""Drills with real processes: the dispatcher killed with SIGKILL mid-batch, the mail server
stopped and started again. The mail server's own log must show every notice, and a second copy
only where the dispatcher could not know whether the first had arrived (marked in doubt)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_dispatch import add_request, notice_rows

from delayhub.store import HubStore
from delayhub.store.models import DeliveryAttempt, Outbox, Request

CONNECTIONS = 4  # send_emails' concurrent SMTP connections: at most this many mails are in flight


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check: Callable[[], bool], timeout: float = 90.0) -> None:
    stop = time.monotonic() + timeout
    while not check():
        if time.monotonic() > stop:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for: {what}")
        time.sleep(0.05)


class MailServer:
    """The local SMTP sink as a process of its own, filing into ``folder`` and logging each message."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "delayhub.sinks", "--port", str(self.port),
                                      "--folder", str(self.folder)], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        assert "listening" in self.proc.stdout.readline(), "the SMTP sink did not start"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def log(self) -> list[dict[str, str | None]]:
        path = self.folder / "received.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    server = MailServer(tmp_path / "mailbox", free_port())
    server.start()
    yield server
    server.stop()


def queue_notices(store: HubStore, n: int) -> set[str]:
    """``n`` delay notices to one applicant's email, queued as the sweep queues them."""
    request = add_request(store)
    rows = [row for seq in range(1, n + 1) for row in notice_rows(request, ("email",), sequence=seq)]
    assert store.add_outbox(rows) == n
    return {row["idempotency_key"] for row in rows}


def start_dispatcher(store_url: str, smtp_port: int, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "DELAYHUB_DATABASE_URL": store_url, "DELAYHUB_SMTP_PORT": str(smtp_port),
               "DELAYHUB_SMS_URL": "http://127.0.0.1:9/sms", "DELAYHUB_VAR": str(tmp_path / "var"), **env}
    return subprocess.Popen([sys.executable, "-m", "delayhub.cli", "dispatch", "--batch", "100",
                             "--until-done", "180"], env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(proc: subprocess.Popen[str]) -> dict[str, int]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, f"dispatcher exited {proc.returncode}: {err[-2000:]}"
    return json.loads(out.strip().splitlines()[-1])


def assert_each_notice_delivered_once(server: MailServer, keys: set[str], in_doubt_allowed: int) -> int:
    """Every notice is in the server's log; a second copy exists only as an in-doubt resend."""
    log = server.log()
    ids = Counter(str(e["message_id"]).strip("<>").split("@")[0] for e in log)
    assert set(ids) == keys, f"missing: {sorted(keys - set(ids))[:5]}, unexpected: {sorted(set(ids) - keys)[:5]}"
    first_copies = Counter(str(e["message_id"]) for e in log if e["resent"] is None)
    assert all(n == 1 for n in first_copies.values()), "a notice was sent twice without being in doubt"
    resends = [e for e in log if e["resent"] is not None]
    assert all(e["resent"] == "in-doubt" for e in resends)
    assert len(resends) <= in_doubt_allowed, f"{len(resends)} in-doubt resends, at most {in_doubt_allowed} possible"
    return len(resends)


def assert_outbox_all_sent(store: HubStore, n: int) -> None:
    with store.session() as s:
        by_status = dict(s.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
        assert by_status == {"sent": n}
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.leased_by.is_not(None))) == 0


def test_dispatcher_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
        store_url: str, mail_server: MailServer, tmp_path: Path) -> None:
    store = HubStore.open(store_url)
    keys = queue_notices(store, 1000)

    first = start_dispatcher(store_url, mail_server.port, tmp_path)
    wait_for("250 notices at the mail server", lambda: len(mail_server.log()) >= 250)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    received_at_kill = len(mail_server.log())
    with store.session() as s:  # killed holding leased rows, with work left to do
        held = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "sending"))
    assert received_at_kill < 1000 and held > 0, (received_at_kill, held)

    stats = finish(start_dispatcher(store_url, mail_server.port, tmp_path))

    assert stats["reclaimed"] == held  # taken back at once, not after the 10-minute lease
    assert stats.get("pending", 0) == 0
    assert_each_notice_delivered_once(mail_server, keys, in_doubt_allowed=CONNECTIONS)
    assert_outbox_all_sent(store, 1000)
    store.close()


def test_mail_server_stopped_for_a_while_then_everything_arrives(
        store_url: str, mail_server: MailServer, tmp_path: Path) -> None:
    store = HubStore.open(store_url)
    keys = queue_notices(store, 300)

    proc = start_dispatcher(store_url, mail_server.port, tmp_path, DELAYHUB_RETRY_BASE_SECONDS="0.3",
                            DELAYHUB_MAX_ATTEMPTS="12")
    wait_for("100 notices at the mail server", lambda: len(mail_server.log()) >= 100)
    mail_server.stop()

    def refused_while_down() -> bool:
        with store.session() as s:
            return (s.scalar(select(func.count()).select_from(DeliveryAttempt)
                             .where(DeliveryAttempt.outcome == "queued")) or 0) >= 20
    wait_for("deliveries refused while the mail server is down", refused_while_down)
    time.sleep(2)
    mail_server.start()
    stats = finish(proc)

    assert stats["retry"] >= 20 and stats["dead"] == 0
    # the SMTP server dropped the connections it held when it stopped: those mails are in doubt
    assert_each_notice_delivered_once(mail_server, keys, in_doubt_allowed=CONNECTIONS)
    assert_outbox_all_sent(store, 300)
    with store.session() as s:  # each retried row says why it waited
        errors = s.scalars(select(DeliveryAttempt.detail).where(DeliveryAttempt.outcome == "queued")).all()
        assert errors and all(e and ("Connect" in e or "in doubt" in e or "Disconnected" in e) for e in errors)
        assert s.scalar(select(func.count()).select_from(Request)) == 1
    store.close()
