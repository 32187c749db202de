"""The citizen's tracking: a code on every notice, a look-up that gives nothing away, and a limiter.

**The tracking code** of a request is eight characters out of 23 that do not read two ways on paper
(no 0, 1, 5, D, I, L, O, Q, S, Z, and no vowels, so no words), printed ``K7M2-XT9P``: 36 bits,
ample behind the limits below. It is derived, not stored: a keyed hash of the agency and the
request number under ``DELAYHUB_PII_KEY`` (the key national IDs are hashed with, which must stay the
same for as long as the store lives anyway). So every notice of a request carries the same code, the
sweep computes it without a read, and no column or back-fill is needed; the price is that one
request's code cannot be changed on its own.

**The look-up** takes the request number and one second factor: the tracking code, the last four
digits of the applicant's mobile number (stored in clear, as the SMS needs it), or the whole
13-digit national ID. The hub keeps national IDs only as a keyed hash and a mask that shows the last
three digits, so four digits cannot be checked without storing more; the whole number is hashed the
same way and compared with the stored hash instead, and is never kept or logged. A missing request
and a wrong second factor give the same answer after the same work: every candidate (or, with none,
a stand-in) is checked against all three factors with constant-time comparisons.

**The limiter** counts attempts per client and per request number in the hub store (``rate_limits``,
one atomic UPSERT per bucket on SQLite and PostgreSQL), or in Redis when ``DELAYHUB_REDIS_URL`` is
set, so every web process shares it. An attempt is counted before it is checked and given back when
it succeeds: only failures add up, and parallel guesses cannot slip past.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlencode

from sqlalchemy import and_, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import config
from .errors import DelayhubError
from .pdpa import hash_national_id, mask_email, mask_name, mask_phone
from .registry import Registry
from .store import HubStore
from .store.models import Letter, Outbox, RateLimit, Request
from .thai import to_arabic_digits

log = logging.getLogger(__name__)

# --- the tracking code -------------------------------------------------------------------------------

# As product keys: the letter font draws Q much like O, and 5/S, 0/O/D, 1/I/L, U/V are easy to mix up.
ALPHABET = "2346789BCFGHJKMNPRTVWXY"
CODE_LENGTH = 8  # 23⁸ ≈ 7.8·10¹⁰: at 10 guesses a day per request number, millions of years


def tracking_code(agency: str, request_no: str) -> str:
    """The request's tracking code, 8 characters without the dash (see the module doc)."""
    message = b"delayhub tracking code\0" + agency.encode() + b"\0" + request_no.encode()
    n = int.from_bytes(hmac.new(config.pii_key(), message, hashlib.sha256).digest()[:8], "big")
    out = []
    for _ in range(CODE_LENGTH):  # 64 bits into 8 base-23 digits: the bias left is below 10⁻⁸
        n, digit = divmod(n, len(ALPHABET))
        out.append(ALPHABET[digit])
    return "".join(out)


def display_code(code: str) -> str:
    """``K7M2XT9P`` → ``K7M2-XT9P``: two groups of four, easy to read out and type."""
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, with dashes or spaces), or None."""
    code = re.sub(r"[\s\-–—]", "", to_arabic_digits(text)).upper()
    return code if len(code) == CODE_LENGTH and all(c in ALPHABET for c in code) else None


def tracking_link(base_url: str, request_no: str, code: str) -> str:
    """The tracking page with the request number and code filled in: what the QR code holds."""
    query = urlencode({"no": request_no, "code": code}, quote_via=quote, safe="")
    return f"{base_url}{'&' if '?' in base_url else '?'}{query}"


# --- the second factor -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Factor:
    kind: str  # code | phone | nid
    value: str  # normalised: 8 code characters, 4 digits, 13 digits


def parse_factor(text: str) -> Factor | None:
    """What the citizen typed as the second factor, by its shape; None when it has none of them."""
    compact = re.sub(r"[\s\-–—]", "", to_arabic_digits(text or ""))
    if compact.isascii() and compact.isdigit():
        if len(compact) == 4:
            return Factor("phone", compact)
        if len(compact) == 13:
            return Factor("nid", compact)
    code = normalise_code(compact)
    return Factor("code", code) if code else None


def valid_national_id(nid: str) -> bool:
    """The 13th digit of a Thai national ID checks the first twelve."""
    if len(nid) != 13 or not nid.isdigit():
        return False
    total = sum(int(nid[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(nid[12])


def normalise_request_no(text: str) -> str:
    """A request number as typed from paper: outer spaces gone, Thai digits as Arabic ones."""
    return to_arabic_digits(text or "").strip()


# --- the limiter -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limit:
    name: str  # part of the bucket's key
    attempts: int  # at most this many counted attempts…
    window: int  # …in any this many seconds (a sliding estimate over two fixed windows)


# The last four digits of a mobile number are the weakest factor: 10,000 values. Per request number,
# 5 failures a quarter of an hour and 10 a day make guessing them take well over a year on average
# (5,000 tries), however many clients try; the cost is that someone hammering a number locks its
# owner out for as long.
CLIENT_LIMITS = (Limit("client", 10, 15 * 60), Limit("client-day", 60, 24 * 3600))
REQUEST_LIMITS = (Limit("request", 5, 15 * 60), Limit("request-day", 10, 24 * 3600))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until one more attempt would count, when refused
    counted: tuple[tuple[str, int, int], ...]  # (bucket, window number, window): to give it back


class Limiter(Protocol):
    def hit(self, keys: Sequence[tuple[Limit, str]], now: float | None = None) -> Verdict:
        """Count one attempt in each (limit, key) bucket; allowed while every bucket is within its limit."""
        ...

    def refund(self, verdict: Verdict) -> None:
        """Give back the attempts ``verdict`` counted (it succeeded: only failures add up)."""
        ...


def bucket(limit: Limit, key: str) -> str:
    """The bucket's name: the limit and a keyed hash of whom it counts (no address or number in clear)."""
    digest = hmac.new(config.pii_key(), f"delayhub rate limit\0{limit.name}\0{key}".encode(), hashlib.sha256)
    return f"{limit.name}:{digest.hexdigest()[:40]}"


def _judge(limits: Sequence[tuple[Limit, str, int, int, int]], now: float) -> Verdict:
    """(limit, bucket, window number, hits, previous window's hits) of each bucket → the verdict."""
    allowed, wait = True, 0.0
    for limit, _name, window_no, hits, prev in limits:
        elapsed = now - window_no * limit.window
        share = prev * (1 - elapsed / limit.window)
        if share + hits > limit.attempts:
            allowed = False
            wait = max(wait, _wait(limit, hits, prev, elapsed))
    return Verdict(allowed, 0 if allowed else max(1, math.ceil(wait)),
                   tuple((name, window_no, limit.window) for limit, name, window_no, _h, _p in limits))


def _wait(limit: Limit, hits: int, prev: int, elapsed: float) -> float:
    """Seconds until the estimate leaves room for one more attempt."""
    room = limit.attempts - 1
    if hits <= room:  # the previous window's share must fade: prev · (1 − f) + hits ≤ room
        return max(0.0, limit.window * (1 - (room - hits) / prev) - elapsed) if prev else 0.0
    # too many in this window itself: the next one, then until these fade as its previous window
    return (limit.window - elapsed) + limit.window * (1 - room / hits)


class StoreLimiter:
    """The limiter on the hub store: one row per bucket, counted by one UPSERT … RETURNING."""

    PURGE_EVERY = 500  # hits per process between deletions of rows that count for nothing any more

    def __init__(self, store: HubStore) -> None:
        self.store = store
        self._hits = itertools.count(1)
        dialect = store.engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise DelayhubError(f"the tracking limiter needs SQLite or PostgreSQL, not {dialect}")
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def hit(self, keys: Sequence[tuple[Limit, str]], now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        t = RateLimit.__table__.c
        planned = {}
        for limit, key in keys:
            w, name = int(now // limit.window), bucket(limit, key)
            planned[name] = (limit, w, dt.datetime.fromtimestamp((w + 2) * limit.window, dt.UTC))
        stmt = self._insert(RateLimit).values([
            {"bucket": name, "window_no": w, "hits": 1, "prev_hits": 0, "expires_at": expires}
            for name, (_limit, w, expires) in planned.items()])
        new_w = stmt.excluded.window_no  # each row's own window (the limits' lengths differ)
        # Inside ON CONFLICT the row's columns are its values before this statement, on both databases,
        # and each row stays locked until the statement ends: no count is lost. One statement for every
        # bucket, in autocommit: one round trip (the table is UNLOGGED on PostgreSQL: no flush to wait for).
        stmt = stmt.on_conflict_do_update(index_elements=[t.bucket], set_={
            "prev_hits": case((t.window_no == new_w, t.prev_hits), (t.window_no == new_w - 1, t.hits), else_=0),
            "hits": case((t.window_no == new_w, t.hits + 1), else_=1),
            "window_no": new_w,
            "expires_at": stmt.excluded.expires_at,
        }).returning(t.bucket, t.hits, t.prev_hits)
        with self.store.autocommit() as s:
            counts = {name: (hits, prev) for name, hits, prev in s.execute(stmt)}
            if next(self._hits) % self.PURGE_EVERY == 0:
                s.execute(delete(RateLimit).where(RateLimit.expires_at < dt.datetime.fromtimestamp(now, dt.UTC)))
        return _judge([(limit, name, w, *counts[name]) for name, (limit, w, _e) in planned.items()], now)

    def refund(self, verdict: Verdict) -> None:
        t = RateLimit
        with self.store.autocommit() as s:
            s.execute(update(t).where(t.hits > 0, or_(*(and_(t.bucket == name, t.window_no == window_no)
                                                         for name, window_no, _window in verdict.counted)))
                      .values(hits=t.hits - 1))


class RedisLimiter:
    """The same limiter on Redis: a counter per bucket and window, both read in one MULTI/EXEC."""

    _REFUND = "local n = tonumber(redis.call('GET', KEYS[1]) or '0') if n > 0 then redis.call('DECR', KEYS[1]) end"

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self._refund = self.redis.register_script(self._REFUND)

    @staticmethod
    def _key(name: str, window_no: int) -> str:
        return f"delayhub:rate:{name}:{window_no}"

    def hit(self, keys: Sequence[tuple[Limit, str]], now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        pipe = self.redis.pipeline(transaction=True)
        planned = []
        for limit, key in keys:
            w, name = int(now // limit.window), bucket(limit, key)
            pipe.incr(self._key(name, w))
            pipe.expire(self._key(name, w), 2 * limit.window)
            pipe.get(self._key(name, w - 1))
            planned.append((limit, name, w))
        answers = pipe.execute()
        seen = [(limit, name, w, int(answers[3 * i]), int(answers[3 * i + 2] or 0))
                for i, (limit, name, w) in enumerate(planned)]
        return _judge(seen, now)

    def refund(self, verdict: Verdict) -> None:
        for name, window_no, _window in verdict.counted:
            self._refund(keys=[self._key(name, window_no)])


REDIS_ENV = "DELAYHUB_REDIS_URL"


def limiter_for(store: HubStore) -> Limiter:
    """Redis when ``DELAYHUB_REDIS_URL`` is set, else the hub store."""
    url = os.environ.get(REDIS_ENV, "").strip()
    return RedisLimiter(url) if url else StoreLimiter(store)


# --- the look-up -------------------------------------------------------------------------------------

APPLICANT_CHANNELS = ("email", "sms", "letter")  # what went to the applicant (not the OPDC's copy)
LETTER_CHANNELS = ("email", "letter")  # notices that carry the letter as PDF
MAX_CANDIDATES = 5  # agencies sharing one request number: checked all, whichever matches


@dataclass(frozen=True)
class SentNotice:
    outbox_id: int
    kind: str  # delay | result
    sequence: int
    channel: str  # email | sms | letter
    sent_on: dt.date  # the Bangkok day it went
    late_days: int  # sent this many days after it was owed
    letters: tuple[str, ...]  # languages of its archived letter PDFs ("th", then "en"); () for an SMS


@dataclass(frozen=True)
class TrackedRequest:
    request_id: int
    request_no: str
    department_code: str
    division_code: str | None
    department: str  # the registry's (Thai) names
    division: str
    process_name: str
    status: str
    submitted_on: dt.date
    due_on: dt.date | None
    completed_on: dt.date | None
    days_late: int  # past the due date: today for an open request, at completion for a finished one
    applicant: dict[str, str]  # name, phone, email, national_id: masked, only those the request has
    contact_phone: str
    notices: tuple[SentNotice, ...]


@dataclass(frozen=True)
class Lookup:
    """What a look-up found: nothing (no such request, or a wrong second factor: the same answer),
    or the requests the factor opens. ``retry_after`` > 0: refused by the limiter, nothing looked at."""

    request_ids: tuple[int, ...] = ()
    retry_after: int = 0


@dataclass(frozen=True)
class _Candidate:
    id: int
    agency: str
    request_no: str
    applicant_phone: str | None
    applicant_nid_hash: str | None


# Checked when no request has the number, so a missing one costs what a wrong factor costs.
_STAND_IN = _Candidate(0, "-", "-", "0000000000", "0" * 64)
_NO_MATCH = "\x00"  # compared against when the factor is of another kind: never equal to a real value


def _matches(candidate: _Candidate, factor: Factor | None) -> bool:
    """All three checks, every time, in constant time; only the factor's own kind can succeed."""
    kind, value = (factor.kind, factor.value) if factor else ("", _NO_MATCH)
    code = tracking_code(candidate.agency, candidate.request_no)
    phone = re.sub(r"\D", "", to_arabic_digits(candidate.applicant_phone or ""))[-4:]
    nid = hash_national_id(value if kind == "nid" else "0" * 13)
    code_ok = hmac.compare_digest(code, value if kind == "code" else _NO_MATCH)
    phone_ok = hmac.compare_digest(phone.rjust(4, "\x01"), value if kind == "phone" else _NO_MATCH)
    nid_ok = hmac.compare_digest(candidate.applicant_nid_hash or _NO_MATCH, nid)
    return (kind == "code" and code_ok) | (kind == "phone" and phone_ok) | (kind == "nid" and nid_ok)


class Tracker:
    """Look-ups and letter downloads for the tracking page. One per process; thread-safe."""

    def __init__(self, store: HubStore, registry: Registry, limiter: Limiter | None = None) -> None:
        self.store, self.registry = store, registry
        self.limiter = limiter if limiter is not None else limiter_for(store)

    def look_up(self, client: str, request_no: str, factor_text: str) -> Lookup:
        """The request(s) numbered ``request_no`` that ``factor_text`` opens, counted against the
        limits of ``client`` (e.g. its address) and of the number. Open them with ``details``."""
        number = normalise_request_no(request_no)
        # one bucket however the number's Latin letters are typed (both spellings are looked up)
        keys = [(limit, client) for limit in CLIENT_LIMITS] + [(limit, number.upper()) for limit in REQUEST_LIMITS]
        verdict = self.limiter.hit(keys)
        if not verdict.allowed:
            return Lookup(retry_after=verdict.retry_after)
        factor = parse_factor(factor_text)
        candidates = self._candidates(number)
        matched = [c.id for c in (candidates or [_STAND_IN]) if _matches(c, factor) and c is not _STAND_IN]
        if not matched:
            return Lookup()
        self.limiter.refund(verdict)
        return Lookup(tuple(matched))

    def _candidates(self, number: str) -> list[_Candidate]:
        if not number:
            return []
        spellings = {number, number.upper()}  # Latin letters typed in lower case
        query = (select(Request.id, Request.agency, Request.request_no, Request.applicant_phone,
                        Request.applicant_nid_hash)
                 .where(Request.request_no.in_(spellings)).order_by(Request.id).limit(MAX_CANDIDATES))
        with self.store.autocommit() as s:
            return [_Candidate(*row) for row in s.execute(query)]

    def details(self, request_id: int, today: dt.date | None = None) -> TrackedRequest:
        """What the citizen sees of a request ``look_up`` opened: personal data masked."""
        from .dispatch.status import SENT  # here: the dispatch package reaches messages, which reaches here

        with self.store.session() as s:
            r = s.get_one(Request, request_id)
            rows = s.execute(
                select(Outbox.id, Outbox.kind, Outbox.sequence, Outbox.channel, Outbox.sent_at, Outbox.late_days)
                .where(Outbox.request_id == request_id, Outbox.status == SENT,
                       Outbox.channel.in_(APPLICANT_CHANNELS), Outbox.kind.in_(("delay", "result")))
                .order_by(Outbox.owed_on, Outbox.id)).all()
            letters = {(x.kind, x.sequence): tuple(lang for lang, sha in (("th", x.sha256), ("en", x.sha256_en)) if sha)
                       for x in s.scalars(select(Letter).where(Letter.request_id == request_id))}
        manual = self.registry.manuals.get(r.manual_id)
        department = self.registry.agencies.get(r.department)
        division = self.registry.agencies.get(r.division or "")
        applicant = {k: v for k, v in (
            ("name", mask_name(r.applicant_name) if r.applicant_name else ""),
            ("phone", mask_phone(r.applicant_phone) if r.applicant_phone else ""),
            ("email", mask_email(r.applicant_email) if r.applicant_email else ""),
            ("national_id", r.applicant_nid_masked or "")) if v}
        notices = tuple(
            SentNotice(n.id, n.kind, n.sequence, n.channel, n.sent_at.astimezone(config.TIMEZONE).date(),
                       n.late_days, letters.get((n.kind, n.sequence), ()) if n.channel in LETTER_CHANNELS else ())
            for n in rows if n.sent_at is not None)
        return TrackedRequest(
            request_id=r.id, request_no=r.request_no, department_code=r.department, division_code=r.division,
            department=department.name if department else r.department,
            division=division.name if division else "", process_name=manual.process_name if manual else "",
            status=r.status, submitted_on=r.submitted_on, due_on=r.due_on, completed_on=r.completed_on,
            days_late=days_late(r.status, r.due_on, r.completed_on, today or config.today()), applicant=applicant,
            contact_phone=department.phone if department else "", notices=notices)

    def letter(self, request_id: int, outbox_id: int, language: str) -> tuple[str, bytes] | None:
        """(file name, PDF) of a sent notice's archived letter in ``language``, or None. The caller
        has checked that the person may see ``request_id`` (a signed token from a look-up)."""
        from .dispatch.letters import LetterMaker
        from .dispatch.status import SENT

        with self.store.session() as s:
            row = s.scalar(select(Outbox).where(Outbox.id == outbox_id, Outbox.request_id == request_id,
                                                Outbox.status == SENT, Outbox.channel.in_(LETTER_CHANNELS)))
        if row is None or language not in self.store.archived_letters(request_id, row.kind, row.sequence):
            return None  # only letters that were made and archived when the notice went
        try:
            made = LetterMaker(self.store, self.registry).attachments(row)
        except DelayhubError as exc:  # a file missing from the archive: the operator restores it
            log.error("tracking: letter of outbox row %s unavailable: %s", outbox_id, exc)
            return None
        languages = ("th", "en")[:len(made)]
        return dict(zip(languages, made, strict=True)).get(language)


def days_late(status: str, due_on: dt.date | None, completed_on: dt.date | None, today: dt.date) -> int:
    """Days past the due date: until today while open, until completion once finished."""
    if due_on is None:
        return 0
    end = completed_on if status in ("completed", "rejected") and completed_on else today
    return max(0, (end - due_on).days)
