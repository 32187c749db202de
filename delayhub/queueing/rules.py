"""The booking rules that need no database: who is booking, how far away they are, and the signed
tokens in links and after a confirmed mobile number.

A refusal is a ``Refused`` with a code (``full``, ``too_far``, ``national_id_check``…), the form field it
concerns and the facts for its message; the web layer words it in Thai or English.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ..dispatch.sms_providers import thai_msisdn
from ..errors import DelayhubError, PermanentDeliveryError
from ..normalise import national_id_valid
from ..pdpa import hash_national_id, mask_national_id
from ..thai import to_arabic_digits

NAME_MAX = 200


class Refused(DelayhubError):
    """A booking, code or change the rules refuse. ``status`` is the HTTP status the API answers with."""

    def __init__(self, code: str, field: str = "", status: int = 422, **params: Any) -> None:
        self.code, self.field, self.status, self.params = code, field, status, params
        super().__init__(f"{code}" + (f" ({field})" if field else ""))


# --- who books --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Booker:
    """A person as a booking keeps them: the name, a keyed hash that is the same on every channel for the
    same national ID (or, without one, mobile number), the ID masked, and the number for the SMS."""

    name: str
    person_key: str
    nid_masked: str | None = None
    phone: str | None = None


def normalise_phone(text: str) -> str | None:
    """A Thai mobile number as 0XXXXXXXXX (from 081-234-5678, +66 81 234 5678, Thai digits…), else None."""
    try:
        return "0" + thai_msisdn(to_arabic_digits(text))[2:]
    except PermanentDeliveryError:
        return None


def identify(name: str, national_id: str = "", phone: str = "") -> Booker:
    """The booker from what they typed. A national ID must pass its check digit; a mobile number must be
    a Thai one (06, 08, 09). One of the two is needed; with both, the ID identifies and the phone gets
    the SMS. The ID itself goes no further than this function: only its hash and mask leave it."""
    name = " ".join(name.split())
    if not name:
        raise Refused("name_required", "name")
    if len(name) > NAME_MAX:
        raise Refused("name_too_long", "name", limit=NAME_MAX)
    nid = re.sub(r"[\s\-]", "", to_arabic_digits(national_id or ""))
    number = None
    if phone and phone.strip():
        number = normalise_phone(phone)
        if number is None:
            raise Refused("phone_invalid", "phone")
    if nid:
        if not re.fullmatch(r"\d{13}", nid):
            raise Refused("national_id_format", "national_id")
        if not national_id_valid(nid):
            raise Refused("national_id_check", "national_id")
        return Booker(name, hash_national_id(nid), mask_national_id(nid), number)
    if number is None:
        raise Refused("id_or_phone_required", "national_id")
    # The same keyed hash the hub keeps of national IDs, over a tagged number: "tel:…" never equals an ID.
    return Booker(name, hash_national_id(f"tel:{number}"), None, number)


# --- how far ------------------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine): within a few metres of the ellipsoid's at 2 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def parse_position(lat: Any, lon: Any) -> tuple[float, float]:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        raise Refused("position_required", "position") from None
    if not (-90 <= la <= 90 and -180 <= lo <= 180) or math.isnan(la) or math.isnan(lo):
        raise Refused("position_required", "position")
    return la, lo


# --- signed tokens --------------------------------------------------------------------------------------

def _mac(key: bytes, purpose: str, payload: str) -> str:
    digest = hmac.new(key, f"{purpose}\0{payload}".encode(), hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(key: bytes, purpose: str, payload: str) -> str:
    """``payload.signature``: HMAC-SHA256 under the app's key, for one purpose only."""
    return f"{payload}.{_mac(key, purpose, payload)}"


def unsign(key: bytes, purpose: str, token: str) -> str | None:
    """The payload of a token signed for ``purpose``, or None if it was not."""
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(mac, _mac(key, purpose, payload)):
        return None
    return payload


def new_ref() -> str:
    """A booking's random reference (96 bits): half of the link that manages it."""
    return secrets.token_urlsafe(12)


def manage_token(key: bytes, ref: str) -> str:
    """The link in the confirmation to see, cancel or change a booking."""
    return sign(key, "queue-booking", ref)


def ref_of(key: bytes, token: str) -> str | None:
    return unsign(key, "queue-booking", token)


PROOF_SECONDS = 30 * 60  # a confirmed number books for this long without a new code


def phone_proof(key: bytes, phone: str, now: float | None = None) -> str:
    """What a correct one-time code gives: this number was confirmed, until the expiry inside."""
    expires = int((now if now is not None else time.time()) + PROOF_SECONDS)
    return sign(key, "queue-phone", f"{phone}~{expires}")


def proven_phone(key: bytes, proof: str, now: float | None = None) -> str | None:
    """The number a proof confirms, if it is genuine and unexpired."""
    payload = unsign(key, "queue-phone", proof or "")
    if payload is None:
        return None
    phone, _, expires = payload.partition("~")
    if not expires.isdigit() or int(expires) < (now if now is not None else time.time()):
        return None
    return phone


def kiosk_key(key: bytes, agency: str) -> str:
    """The key a kiosk at ``agency`` sends with each walk-in: walk-in places are for people at the
    agency, so the kiosk's link carries it (``python -m delayhub.queueing kiosk-link AGENCY``)."""
    return _mac(key, "queue-kiosk", agency)


def kiosk_allowed(key: bytes, agency: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(given, kiosk_key(key, agency))
