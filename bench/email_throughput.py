"""Emails per second with a PDF letter attached, delivered to a loopback aiosmtpd server that
answers like a real MTA (a 20 ms pause per message), against a plain sequential smtplib loop
over the same messages. The server runs in its own process. Prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import smtplib
import socket
import sys
import time
from pathlib import Path

from delayhub.config import SmtpConfig
from delayhub.dispatch.email import Attachment, Email, build_message, send_emails

DELAY = 0.02


def _server(port: int, ready: mp.Event, stop: mp.Event) -> None:
    from aiosmtpd.controller import Controller

    class Slow:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            await asyncio.sleep(DELAY)
            return "250 OK"

    controller = Controller(Slow(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _pdf() -> bytes:
    """A real delay letter, as the notices carry (bench/letters.py builds its context)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from letters import contexts  # bench/letters.py

    from delayhub.letters import LetterRenderer

    return LetterRenderer().render("delay", contexts(1)[0])


def main(n: int = 400) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ready, stop = mp.Event(), mp.Event()
    proc = mp.Process(target=_server, args=(port, ready, stop), daemon=True)
    proc.start()
    ready.wait(10)
    pdf = _pdf()
    mails = [Email(f"n-bench{i:05d}", f"applicant{i}@example.co.th", f"แจ้งเหตุแห่งความล่าช้า คำขอเลขที่ ทบ.2569/{i:05d}",
                   "เรียน ผู้ยื่นคำขอ\n\nบัดนี้ การพิจารณาคำขอของท่านยังไม่แล้วเสร็จ", (Attachment("letter.pdf", pdf),))
             for i in range(n)]
    cfg = SmtpConfig(port=port)
    t = time.perf_counter()
    results = send_emails(mails, cfg, connections=8)
    ours = n / (time.perf_counter() - t)
    assert all(not isinstance(r, Exception) for r in results), results[:3]
    t = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for mail in mails:
            client.send_message(build_message(mail, cfg.sender))
    peer = n / (time.perf_counter() - t)
    stop.set()
    proc.join(5)
    print(json.dumps({"bench": "email_throughput", "emails": n, "attachment_bytes": len(pdf),
                      "emails_per_second": round(ours, 1), "connections": 8,
                      "peer": "sequential smtplib loop, one connection", "peer_emails_per_second": round(peer, 1),
                      "ratio": round(ours / peer, 2),
                      "server": f"aiosmtpd in its own process, {DELAY * 1000:.0f} ms a message"}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
