"""Personal data as people may see it: masked (PDPA). One place for every mask."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from . import config


def mask_national_id(nid: str) -> str:
    """``1-2345-67890-12-3`` shown as ``x-xxxx-xxxxx-12-3``: enough to recognise, not to reuse."""
    return f"x-xxxx-xxxxx-{nid[10:12]}-{nid[12]}" if len(nid) == 13 else "x" * len(nid)


def hash_national_id(nid: str) -> str:
    return hmac.new(config.pii_key(), nid.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """``0812345678`` → ``08x-xxx-5678``."""
    return phone[:2] + "x-xxx-" + phone[-4:] if len(phone) >= 8 else "x" * len(phone)


def mask_email(email: str) -> str:
    """``somchai@example.co.th`` → ``s***@example.co.th``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_name(name: str) -> str:
    """Keep the first word (title and given name), hide the rest: ``นายสมชาย ใ***``."""
    first, _, rest = name.partition(" ")
    return f"{first} {rest[:1]}***" if rest else first


def mask_address(address: str) -> str:
    return address[:8] + "…" if len(address) > 8 else "…"


_MASKS = {"national_id": mask_national_id, "phone": mask_phone, "email": mask_email, "name": mask_name,
          "address": mask_address}


def masked_applicant(applicant: dict[str, Any]) -> dict[str, Any]:
    """A standard request's applicant block with every personal field masked."""
    return {k: (_MASKS[k](str(v)) if k in _MASKS and v else v) for k, v in applicant.items()}


# --- free text: what people type into a comment box ------------------------------------------------------

_D = "[0-9\u0e50-\u0e59]"  # a digit, Arabic or Thai (๐–๙)
_S = r"[\s\-.()\u2010-\u2015]{0,2}"  # what people put between digits: 081-234-5678, (02) 123 4567, 08 1234 5678
_ZERO, _SIX = "[0\u0e50]", "[6\u0e56]"
_MOBILE_2ND, _FIXED_2ND = "[689\u0e56\u0e58\u0e59]", "[2-7\u0e52-\u0e57]"
_ALONE_BEFORE, _ALONE_AFTER = "(?<![0-9\u0e50-\u0e59])", "(?![0-9\u0e50-\u0e59])"
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s*[@\uff20]\s*[A-Za-z0-9\-]+(?:\s*\.\s*[A-Za-z0-9\-]+)*\s*\.\s*[A-Za-z]{2,}")
# A national ID: 13 digits in one piece, or in its printed groups 1-2345-67890-12-3 (any separator).
_NID = re.compile(rf"{_ALONE_BEFORE}(?:{_D}{{13}}|{_D}{_S}{_D}{{4}}{_S}{_D}{{5}}{_S}{_D}{{2}}{_S}{_D}){_ALONE_AFTER}")
# A Thai number from 0 or +66: mobile (06/08/09 and 8 more digits) or fixed line (02–07 and 7 more).
_PHONE = re.compile(rf"{_ALONE_BEFORE}(?:\+?{_SIX}{_S}{_SIX}{_S}\(?|\(?{_ZERO}{_S})"
                    rf"(?:{_MOBILE_2ND}(?:{_S}{_D}){{8}}|{_FIXED_2ND}(?:{_S}{_D}){{7}}){_ALONE_AFTER}")
# Whatever else holds 13 digits with separators between them (12345 67890 123): a national ID written oddly.
_NID_LOOSE = re.compile(rf"{_ALONE_BEFORE}{_D}(?:{_S}{_D}){{12}}{_ALONE_AFTER}")
MASKED_PHONE = "[หมายเลขโทรศัพท์]"
MASKED_NATIONAL_ID = "[เลขประจำตัวประชาชน]"
MASKED_EMAIL = "[อีเมล]"


def mask_free_text(text: str) -> str:
    """Free text (a survey comment) with every email address, Thai phone number (mobile or fixed, with
    spaces, dashes or +66, in Arabic or Thai digits) and 13-digit national ID (with or without dashes)
    replaced by a placeholder. The masked text is what is stored: nothing typed can point at a person
    through these."""
    if not text:
        return text
    masked = _EMAIL.sub(MASKED_EMAIL, text)
    masked = _NID.sub(MASKED_NATIONAL_ID, masked)
    masked = _PHONE.sub(MASKED_PHONE, masked)
    return _NID_LOOSE.sub(MASKED_NATIONAL_ID, masked)
