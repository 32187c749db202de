"""Email through aiosmtplib: Thai subject, plain text and HTML, Message-ID from the idempotency key."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

import aiosmtplib

from ..config import SmtpConfig
from ..errors import InDoubtDeliveryError, PermanentDeliveryError, TemporaryDeliveryError


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class Email:
    key: str  # idempotency key
    to: str
    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()
    # A resend after a dispatcher died between handing the message over and recording the answer:
    # same Message-ID, marked, so the receiving side can tell it may already hold it.
    in_doubt: bool = False


def build_message(mail: Email, sender: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<{mail.key}@delayhub.go.th>"
    msg["X-Delayhub-Notice"] = mail.key
    if mail.in_doubt:
        msg["X-Delayhub-Resent"] = "in-doubt"
    msg.set_content(mail.body, charset="utf-8")
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in mail.body.split("\n\n"))
    msg.add_alternative(f'<!doctype html><html lang="th"><body>{paragraphs}</body></html>',
                        subtype="html", charset="utf-8")
    for item in mail.attachments:
        maintype, subtype = item.mime.split("/", 1)
        msg.add_attachment(item.content, maintype=maintype, subtype=subtype, filename=item.filename)
    return msg


OnHandoff = Callable[[int], None]
OnResult = Callable[[int, "Exception | str"], None]


async def _send_all(mails: Sequence[Email], cfg: SmtpConfig, connections: int,
                    on_handoff: OnHandoff | None, on_result: OnResult | None) -> list[Exception | str]:
    results: list[Exception | str] = [TemporaryDeliveryError("not attempted")] * len(mails)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(mails)):
        queue.put_nowait(i)

    async def worker() -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while not queue.empty():
                i = queue.get_nowait()
                try:
                    message = build_message(mails[i], cfg.sender)
                except (ValueError, TypeError) as exc:  # e.g. a line break in a header: no retry will fix it
                    results[i] = PermanentDeliveryError(f"message cannot be built: {exc}")
                    if on_result is not None:
                        on_result(i, results[i])
                    continue
                handed = False
                try:
                    if client is None or not client.is_connected:
                        client = aiosmtplib.SMTP(hostname=cfg.host, port=cfg.port, timeout=cfg.timeout,
                                                 start_tls=cfg.start_tls, cert_bundle=cfg.ca_file)
                        await client.connect()
                        if cfg.username:
                            await client.login(cfg.username, cfg.password or "")
                    if on_handoff is not None:
                        on_handoff(i)
                    handed = True
                    errors, reply = await client.send_message(message)
                    if errors:
                        results[i] = PermanentDeliveryError(f"recipient refused: {errors}")
                    else:
                        results[i] = reply
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    results[i] = PermanentDeliveryError(f"recipient refused ({exc.recipients[0].code})")
                except aiosmtplib.SMTPAuthenticationError as exc:  # our login, not the applicant's address
                    results[i] = TemporaryDeliveryError(f"the mail server refused our login (SMTP {exc.code})")
                    client = None
                except aiosmtplib.SMTPResponseException as exc:
                    kind = PermanentDeliveryError if 500 <= exc.code < 600 else TemporaryDeliveryError
                    results[i] = kind(f"SMTP {exc.code}: {exc.message}")
                except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                    kind = InDoubtDeliveryError if handed else TemporaryDeliveryError
                    prefix = InDoubtDeliveryError.PREFIX if handed else ""
                    results[i] = kind(f"{prefix}{type(exc).__name__}: {exc}")
                    client = None
                if on_result is not None:  # recorded at once: a crash leaves only the mails in flight in doubt
                    on_result(i, results[i])
        finally:
            if client is not None and client.is_connected:
                try:
                    await client.quit()
                except aiosmtplib.SMTPException:
                    pass

    await asyncio.gather(*(worker() for _ in range(max(1, min(connections, len(mails))))))
    return results


def send_emails(mails: Sequence[Email], cfg: SmtpConfig, connections: int = 4, *,
                on_handoff: OnHandoff | None = None, on_result: OnResult | None = None) -> list[Exception | str]:
    """Send each mail; per mail, the server's reply or the delivery error. Never raises for one mail.

    ``on_handoff(i)`` runs just before mail ``i`` goes to the server and ``on_result(i, outcome)``
    as soon as its answer is known, so the caller can log each step durably as it happens.
    """
    if not mails:
        return []
    return asyncio.run(_send_all(mails, cfg, connections, on_handoff, on_result))
