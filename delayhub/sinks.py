"""Local stand-ins for the outside world on the embedded default: an SMTP server that files
each message as an .eml, and an SMS gateway that logs each message as a JSON line."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from .pdpa import mask_phone


class MaildirHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.content, policy=default_policy)
        key = str(msg.get("X-Delayhub-Notice") or msg.get("Message-ID", "message")).strip("<>").split("@")[0]
        with self.lock:
            path = self.folder / f"{key}.eml"
            n = 1
            while path.exists():  # a resend stays visible as a second file
                n += 1
                path = self.folder / f"{key}.{n}.eml"
            path.write_bytes(envelope.content)
            # the server's own log: one line per accepted message, no addresses (PDPA)
            entry = {"file": path.name, "message_id": str(msg.get("Message-ID", "")),
                     "resent": str(msg.get("X-Delayhub-Resent") or "") or None, "bytes": len(envelope.content),
                     "recipients": len(envelope.rcpt_tos)}
            with (self.folder / "received.log").open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self.handler = MaildirHandler(folder)
        if port == 0:
            port = _free_port(host)
        self.controller = Controller(self.handler, hostname=host, port=port)
        self.host, self.port = host, port

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))


class SmsSink:
    """Speaks the generic JSON gateway protocol; logs with the phone number masked."""

    def __init__(self, log_path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.received: list[dict[str, Any]] = []
        self.fail_next: list[int] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if sink.fail_next:
                    code = sink.fail_next.pop(0)
                    self.send_response(code)
                    self.end_headers()
                    return
                sink.received.append(body)
                msg_id = f"sms-{len(sink.received):06d}"
                entry = {"id": msg_id, "to": mask_phone(str(body.get("to", ""))), "sender": body.get("sender"),
                         "reference": body.get("reference"), "message": body.get("message")}
                with sink.log_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
                data = json.dumps({"id": msg_id, "status": "accepted"}).encode()
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> SmsSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    """Run the local SMTP sink as a process of its own (``python -m delayhub.sinks``), e.g. for drills
    where the mail server is stopped and started while the dispatcher runs."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(prog="python -m delayhub.sinks", description="local SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--folder", type=Path, required=True, help="where each message is filed as <notice>.eml")
    args = parser.parse_args(argv)
    sink = SmtpSink(args.folder, args.host, args.port).start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"smtp sink listening on {args.host}:{args.port}, filing into {args.folder}", flush=True)
    stop.wait()
    sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
