"""Personal data as people may see it: masked (PDPA). One place for every mask."""

from __future__ import annotations

import hashlib
import hmac
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
