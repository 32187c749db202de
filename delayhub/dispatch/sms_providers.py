"""SMS providers behind one small interface, and the arithmetic of SMS length.

A provider is anything with ``send(to, text, reference) -> provider message id`` that raises
``TemporaryDeliveryError`` (try again later) or ``PermanentDeliveryError`` (do not retry).
Two are registered by name:

``json`` — the generic HTTP/JSON gateway (the wire protocol of ``dispatch.sms.send_sms``)::

    POST {url}   Authorization: Bearer <token>   Content-Type: application/json
    {"to": "0812345678", "message": "...", "sender": "DELAYHUB", "reference": "<idempotency key>"}
    2xx → {"id": "<message id>", ...};  429, 5xx, no answer → temporary;  other 4xx → permanent

``form`` — the form-post dialect of Thai bulk-SMS gateways. The vendors' APIs differ in field
names and codes (ThaiBulkSMS v1 posts username/password/msisdn/message/sender and answers
``<SMS><QUEUE><Status>…</Status><Transaction>…</Transaction>…``; others answer
``STATUS=0&MSGID=…``), so this is one concrete dialect in that family, and the one our local
stand-in (``sms_sinks.FormGatewaySink``) speaks. A vendor that differs needs a subclass that
overrides ``fields``/``parse_answer``/``STATUS_CODES``::

    POST {url}   Content-Type: application/x-www-form-urlencoded (UTF-8 percent-encoding)
      username  account name             password  account password
      msisdn    66XXXXXXXXX: international form, no "+", no leading 0 (0812345678 → 66812345678)
      message   the text, UTF-8 (the gateway re-encodes it for the handset)
      sender    an approved sender name  ref       our idempotency key (echoed in reports)
      coding    0 = GSM 7-bit (plain English), 8 = UCS-2 (Thai or anything else); SMPP data_coding
    HTTP 200, text/xml:
      <SMS><Status>0</Status><Detail>OK</Detail><Transaction>{message id}</Transaction></SMS>
    Status 0 accepted; otherwise (our mapping):
      101 invalid mobile number            permanent
      102 number blacklisted / opted out   permanent
      103 sender name not approved         permanent
      104 message empty or badly coded     permanent
      201 login refused                    temporary: an account problem, not the notice's; failing
                                           every notice for good would drop legally owed notices,
                                           while retries end as technical-failure, visibly
      202 out of credit                    temporary
      203 system busy / throttled          temporary
      any other code                       temporary
    HTTP 429, 5xx, no answer or an answer without <Status> → temporary; other non-2xx → permanent

Delivery reports of both dialects arrive at ``sms_reports.delivery_report_router``.

Length: a text in the GSM 7-bit alphabet gets 160 characters in one message and 153 per part of a
longer one (``{}[]~^|\\`` take two); anything else goes as UCS-2: 70 UTF-16 code units, 67 per
part (Thai vowels and tone marks count; an emoji counts two). ``fit`` shortens a text to at most
two parts without tearing a Thai vowel or tone mark from its consonant.

Nothing here imports Airflow.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, runtime_checkable

import requests

from ..config import SmsConfig
from ..errors import ConfigError, PermanentDeliveryError, TemporaryDeliveryError
from .sms import Sms, send_sms


@runtime_checkable
class SmsProvider(Protocol):
    def send(self, to: str, text: str, reference: str) -> str:
        """Hand one SMS over; returns the provider's message id (may be "" if it gives none)."""
        ...


# --- length ---------------------------------------------------------------------------------------

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# ASCII part of GSM 03.38 only: Latin-1 letters that GSM also has (é, £…) are counted as UCS-2,
# since a gateway may well send them so; counting too many parts is the safe error.
_GSM_EXTENSION = frozenset("^{}\\[]~|")
_GSM_BASIC = frozenset("\n\r" + "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "`")) - _GSM_EXTENSION

THAI_MARKS = frozenset("\u0e31" + "".join(map(chr, range(0x0E34, 0x0E3B))) + "".join(map(chr, range(0x0E47, 0x0E4F))))
THAI_SARA_AM = "\u0e33"  # spacing, but belongs to the consonant before it (คำ)
THAI_LEADING_VOWELS = frozenset("\u0e40\u0e41\u0e42\u0e43\u0e44")  # เ แ โ ใ ไ: written before their consonant
_ZWJ = "\u200d"


def ucs2_units(text: str) -> int:
    """UTF-16 code units: what a UCS-2 SMS counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def is_gsm7(text: str) -> bool:
    """True when the text can go in the GSM 7-bit alphabet (ASCII subset, see above)."""
    return all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text)


def _widths(text: str) -> tuple[list[int], int, int]:
    if is_gsm7(text):
        return [2 if c in _GSM_EXTENSION else 1 for c in text], GSM_SINGLE, GSM_PART
    return [2 if ord(c) > 0xFFFF else 1 for c in text], UCS2_SINGLE, UCS2_PART


def segments(text: str) -> int:
    """Messages the text is sent as (0 for ""). Parts are packed the way a gateway does: a
    two-unit character (GSM escape, surrogate pair) never straddles two parts."""
    widths, single, part = _widths(text)
    total = sum(widths)
    if total <= single:
        return 1 if total else 0
    parts, used = 1, 0
    for w in widths:
        if used + w > part:
            parts, used = parts + 1, 0
        used += w
    return parts


def _can_cut(text: str, i: int) -> bool:
    """May text be cut between text[i-1] and text[i]?"""
    before, after = text[i - 1], text[i]
    if after in THAI_MARKS or after == THAI_SARA_AM or unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return False
    if before in THAI_LEADING_VOWELS or before == _ZWJ or after == _ZWJ:
        return False
    if 0x1F3FB <= ord(after) <= 0x1F3FF:  # emoji skin-tone modifier
        return False
    return not ("\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff")  # a pair kept as two code points


def _shortened(text: str, i: int) -> str:
    kept = text[:i].rstrip()
    # "…" is not GSM: on a GSM text it would switch to UCS-2 and halve the room, so use "...".
    return kept + ("..." if is_gsm7(kept) else "…")


SPACE_WINDOW = 2 / 3  # cut at a space if that keeps at least this share of what fits


def fit(text: str, max_parts: int = 2) -> str:
    """The text itself if it fits in ``max_parts`` messages, else its longest prefix that fits
    with "…" ("..." for GSM texts) appended, cut at a space when one is near the end, otherwise
    between characters but never inside a Thai consonant–vowel/tone-mark cluster or a surrogate pair."""
    if max_parts < 1:
        raise ValueError("max_parts must be at least 1")
    if segments(text) <= max_parts:
        return text
    cuts = [i for i in range(1, len(text)) if _can_cut(text, i)]
    lo, hi = 0, len(cuts)  # how many cut points fit (the fitting ones form a prefix of cuts)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(_shortened(text, cuts[mid - 1])) <= max_parts:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return "…"
    best = cuts[lo - 1]
    space = next((i for i in reversed(cuts[:lo]) if text[i].isspace()), None)
    if space is not None and text[:space].strip() and space >= best * SPACE_WINDOW:
        best = space
    return _shortened(text, best)


# --- phone numbers --------------------------------------------------------------------------------

_THAI_MOBILE = re.compile(r"(?:0|66)([689]\d{8})")


def thai_msisdn(phone: str) -> str:
    """``0812345678`` (also ``081-234-5678``, ``+66 81 234 5678``) → ``66812345678``. A number that
    is not a Thai mobile number (06, 08, 09) is refused for good; the error does not repeat it."""
    digits = re.sub(r"[\s\-().]", "", phone).removeprefix("+")
    match = _THAI_MOBILE.fullmatch(digits)
    if not match:
        raise PermanentDeliveryError("not a Thai mobile number (expected 0XXXXXXXXX starting 06, 08 or 09)")
    return "66" + match.group(1)


# --- providers ------------------------------------------------------------------------------------

class JsonGateway:
    """The generic HTTP/JSON gateway: today's ``send_sms`` behind the provider interface."""

    def __init__(self, url: str, token: str | None = None, sender: str = "DELAYHUB", timeout: float = 15.0,
                 session: requests.Session | None = None) -> None:
        self.cfg = SmsConfig(url=url, token=token, sender=sender, timeout=timeout)
        self.session = session

    @classmethod
    def from_config(cls, cfg: SmsConfig, session: requests.Session | None = None, **options: str) -> JsonGateway:
        if options:
            raise ConfigError("sms", "json", f"unknown options {sorted(options)}")
        return cls(cfg.url, cfg.token, cfg.sender, cfg.timeout, session)

    def send(self, to: str, text: str, reference: str) -> str:
        return send_sms(Sms(reference, to, text), self.cfg, self.session)


class FormPostGateway:
    """The Thai bulk-SMS form-post dialect described in the module docstring."""

    # code: (permanent?, meaning). Unknown non-zero codes are temporary.
    STATUS_CODES: ClassVar[dict[int, tuple[bool, str]]] = {
        101: (True, "invalid mobile number"),
        102: (True, "number blacklisted or opted out"),
        103: (True, "sender name not approved"),
        104: (True, "message empty or badly coded"),
        201: (False, "login refused: check the gateway username and password"),
        202: (False, "out of credit"),
        203: (False, "system busy"),
    }

    def __init__(self, url: str, username: str, password: str, sender: str = "DELAYHUB", timeout: float = 15.0,
                 session: requests.Session | None = None) -> None:
        self.url, self.username, self.sender, self.timeout = url, username, sender, timeout
        self._password = password
        self.session = session

    def __repr__(self) -> str:  # no password in tracebacks or logs
        return f"FormPostGateway(url={self.url!r}, username={self.username!r}, sender={self.sender!r})"

    @classmethod
    def from_config(cls, cfg: SmsConfig, session: requests.Session | None = None,
                    **options: str) -> FormPostGateway:
        """``cfg.token`` is the account password; ``username`` comes as an option."""
        username = options.pop("username", None)
        if options:
            raise ConfigError("sms", "form", f"unknown options {sorted(options)}")
        if not username or not cfg.token:
            raise ConfigError("sms", "form", "the form gateway needs a username and a password (the SMS token)")
        return cls(cfg.url, username, cfg.token, cfg.sender, cfg.timeout, session)

    def fields(self, msisdn: str, text: str, reference: str) -> dict[str, str]:
        return {"username": self.username, "password": self._password, "msisdn": msisdn, "message": text,
                "sender": self.sender, "coding": "0" if is_gsm7(text) else "8", "ref": reference}

    @staticmethod
    def parse_answer(body: str) -> tuple[int | None, str]:
        """(status code or None if absent, message id) from the gateway's answer."""
        status, txn = _tag(body, "Status"), _tag(body, "Transaction")
        return (int(status) if status is not None and status.isdigit() else None), txn or ""

    def send(self, to: str, text: str, reference: str) -> str:
        data = self.fields(thai_msisdn(to), text, reference)
        http: Any = self.session or requests
        try:
            # No redirects: requests would re-send a redirected POST as a GET without the form.
            response = http.post(self.url, data=data, timeout=self.timeout, allow_redirects=False,
                                 headers={"Accept": "text/xml"})
        except requests.RequestException as exc:
            raise TemporaryDeliveryError(f"SMS gateway unreachable ({type(exc).__name__})") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryDeliveryError(f"SMS gateway HTTP {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise PermanentDeliveryError(f"SMS gateway refused the message: HTTP {response.status_code}")
        code, message_id = self.parse_answer(response.text)
        if code is None:
            # It may have been queued; a retry risks a duplicate, which beats a notice never sent.
            raise TemporaryDeliveryError("SMS gateway answer not understood (no <Status>)")
        if code == 0:
            return message_id
        permanent, meaning = self.STATUS_CODES.get(code, (False, "unknown status"))
        error = PermanentDeliveryError if permanent else TemporaryDeliveryError
        raise error(f"SMS gateway status {code}: {meaning}")


def _tag(body: str, name: str) -> str | None:
    # A regex, not an XML parser: answers are tiny, sometimes bare fragments, and never need entities.
    match = re.search(rf"<{name}>\s*([^<]*?)\s*</{name}>", body, re.IGNORECASE)
    return match.group(1) if match else None


# --- registry -------------------------------------------------------------------------------------

ProviderFactory = Callable[..., SmsProvider]  # (cfg, session=None, **options) -> provider

PROVIDERS: dict[str, ProviderFactory] = {"json": JsonGateway.from_config, "form": FormPostGateway.from_config}


def register(name: str, factory: ProviderFactory) -> None:
    """Add a provider: ``factory(cfg: SmsConfig, session=None, **options)`` returns it."""
    PROVIDERS[name] = factory


def create_provider(name: str, cfg: SmsConfig, session: requests.Session | None = None,
                    **options: str) -> SmsProvider:
    """The provider registered as ``name`` (``json``, ``form``), built from ``cfg``."""
    factory = PROVIDERS.get(name)
    if factory is None:
        raise ConfigError("sms", "provider", f"unknown SMS provider {name!r}; known: {', '.join(sorted(PROVIDERS))}")
    return factory(cfg, session, **options)
