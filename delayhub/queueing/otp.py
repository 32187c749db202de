"""One-time SMS codes that confirm a booker's mobile number (web and mobile channels).

A code is 6 random digits, valid for ``CODE_MINUTES``, with ``MAX_ATTEMPTS`` tries; only an HMAC of it
(keyed with the app's key, over the code, the number and the row's random id) is kept. A 6-digit code
has a million values whatever hash is used, so a slow hash (argon2) would buy nothing: the protection is
the key, the few tries and the short life. How often a number (and a client) may ask for codes is
limited with the hub's limiter. A correct code gives a signed proof of the number, good for
``rules.PROOF_SECONDS``: booking checks it without a database read.

The SMS goes through the one outbox like every message to a person (kind ``queue_otp``, no request),
and the web process then tries to deliver that row at once (``deliver``) with the same SMS provider the
dispatcher uses, leasing it the way the dispatcher does: a code cannot wait for the next dispatch run,
and if the gateway is down the dispatcher retries it until the code expires (the row's deadline). Once
the code can no longer be used its text is removed from the row (``scrub``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from ..dispatch import status as st
from ..dispatch.run import worker_name
from ..dispatch.sms_providers import SmsProvider, fit
from ..errors import PermanentDeliveryError
from ..pdpa import mask_phone
from ..store import HubStore
from ..store.models import Outbox, QueueOtp
from ..store.repo import Delivery
from ..tracking import Limit, Limiter, limiter_for
from . import messages
from .booking import clock, sms_row
from .rules import Refused, normalise_phone, phone_proof

CODE_MINUTES = 5
MAX_ATTEMPTS = 5
RETRY_SECONDS = 30  # a code the gateway did not take at once: the dispatcher tries again this soon
# A number gets at most 3 codes in 15 minutes and 10 a day; a client (address) 20 an hour.
PHONE_LIMITS = (Limit("queue-otp-phone", 3, 15 * 60), Limit("queue-otp-phone-day", 10, 24 * 3600))
CLIENT_LIMITS = (Limit("queue-otp-client", 20, 3600),)
SCRUBBED = {"code_removed": True}
_CODE = re.compile(r"\b\d{6}\b")


@dataclass(frozen=True)
class CodeSent:
    otp_id: str
    phone: str
    expires_at: dt.datetime
    outbox_id: int

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


class Codes:
    def __init__(self, store: HubStore, key: bytes, limiter: Limiter | None = None,
                 now: Callable[[], dt.datetime] = clock) -> None:
        self.store, self.key, self.now = store, key, now
        self.limiter = limiter or limiter_for(store)

    def _hash(self, otp_id: str, phone: str, code: str) -> str:
        return hmac.new(self.key, f"queue-otp\0{otp_id}\0{phone}\0{code}".encode(), hashlib.sha256).hexdigest()

    def request(self, phone: str, lang: str = "th", client: str = "unknown") -> CodeSent:
        """Make a code for ``phone`` and queue its SMS. Raises Refused (phone_invalid, too_many_codes)."""
        number = normalise_phone(phone)
        if number is None:
            raise Refused("phone_invalid", "phone")
        verdict = self.limiter.hit([*((limit, number) for limit in PHONE_LIMITS),
                                    *((limit, client) for limit in CLIENT_LIMITS)])
        if not verdict.allowed:
            raise Refused("too_many_codes", "phone", status=429, minutes=max(1, -(-verdict.retry_after // 60)),
                          retry_after=verdict.retry_after)
        now = self.now()
        otp_id, code = secrets.token_urlsafe(16), f"{secrets.randbelow(10 ** 6):06d}"
        expires = now + dt.timedelta(minutes=CODE_MINUTES)
        with self.store.engine.begin() as conn:
            conn.execute(QueueOtp.__table__.insert().values(id=otp_id, code_hash=self._hash(otp_id, number, code),
                                                            created_at=now, expires_at=expires, attempts=0))
            outbox_id = conn.execute(Outbox.__table__.insert().values(**sms_row(
                None, "queue_otp", number, messages.otp_text(code, CODE_MINUTES, lang), now, expires,
                key=f"queue-otp-{otp_id}")).returning(Outbox.id)).scalar_one()
        return CodeSent(otp_id, number, expires, outbox_id)

    def verify(self, otp_id: str, phone: str, code: str) -> str:
        """The proof of ``phone`` if ``code`` is right. Every try counts, right or wrong; Refused with
        otp_wrong (tries left), otp_expired or otp_locked otherwise."""
        number = normalise_phone(phone) or ""
        code = re.sub(r"\s", "", code or "")
        now = self.now()
        t = QueueOtp
        with self.store.engine.begin() as conn:  # the try is counted even when the code is wrong
            row = conn.execute(update(t).where(t.id == otp_id, t.verified_at.is_(None), t.expires_at > now,
                                               t.attempts < MAX_ATTEMPTS)
                               .values(attempts=t.attempts + 1).returning(t.code_hash, t.attempts)).first()
        if row is None:
            with self.store.engine.connect() as conn:
                found = conn.execute(select(t.attempts, t.expires_at, t.verified_at).where(t.id == otp_id)).first()
            if found is not None and found.verified_at is None and found.expires_at > now:
                raise Refused("otp_locked", "code", status=429)
            raise Refused("otp_expired", "code", status=410)
        if not hmac.compare_digest(row.code_hash, self._hash(otp_id, number, code)):
            left = MAX_ATTEMPTS - row.attempts
            raise Refused("otp_wrong", "code", status=422, left=left) if left else Refused("otp_locked", "code",
                                                                                           status=429)
        with self.store.engine.begin() as conn:  # a code confirms once
            used = conn.execute(update(t).where(t.id == otp_id, t.verified_at.is_(None)).values(verified_at=now))
        if used.rowcount != 1:
            raise Refused("otp_expired", "code", status=410)
        return phone_proof(self.key, number, now.timestamp())

    def deliver(self, outbox_id: int, provider: SmsProvider) -> bool:
        """Send one queued SMS of the outbox now, leased and recorded as the dispatcher would: True when the
        gateway took it. A temporary failure leaves it to the dispatcher; a permanent one fails it."""
        worker, now = worker_name(), self.now()
        o = Outbox
        with self.store.engine.begin() as conn:
            row = conn.execute(update(o).where(o.id == outbox_id, o.status == st.QUEUED).values(
                status=st.SENDING, attempts=o.attempts + 1, leased_by=worker,
                lease_until=now + dt.timedelta(minutes=2)).returning(o.recipient, o.body, o.idempotency_key,
                                                                     o.attempts)).first()
        if row is None:
            return False  # a dispatcher took it first
        self.store.mark_handed(outbox_id, row.attempts, worker)
        outcome: Any
        try:
            outcome = Delivery(outbox_id, row.attempts, st.SENT,
                               provider_ref=str(provider.send(row.recipient, fit(row.body), row.idempotency_key))[:200])
        except PermanentDeliveryError as exc:
            outcome = Delivery(outbox_id, row.attempts, st.FAILED, str(exc)[:500])
        except Exception as exc:  # any other failure: the dispatcher tries again while the code is valid
            outcome = Delivery(outbox_id, row.attempts, st.QUEUED, f"{type(exc).__name__}: {exc}"[:500],
                               retry_at=now + dt.timedelta(seconds=RETRY_SECONDS))
        self.store.record_deliveries(worker, [outcome])
        return outcome.status == st.SENT

    def scrub(self, now: dt.datetime | None = None) -> int:
        """Remove the code from SMS rows whose code can no longer be used (expired): the outbox keeps what
        was sent, not a secret. Returns the rows changed."""
        now = now or self.now()
        cutoff = now - dt.timedelta(minutes=CODE_MINUTES)
        o, changed = Outbox, 0
        with self.store.engine.begin() as conn:
            rows = conn.execute(select(o.id, o.body).where(o.kind == "queue_otp", o.created_at <= cutoff,
                                                           o.status.notin_(st.IN_FLIGHT), o.payload.is_(None))
                                .limit(5000)).all()
            for r in rows:
                conn.execute(update(o).where(o.id == r.id).values(body=_CODE.sub("••••••", r.body), payload=SCRUBBED))
                changed += 1
        return changed
