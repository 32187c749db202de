"""SMS through an HTTP/JSON gateway: ``POST {url}`` with to, message, sender, reference."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from ..config import SmsConfig
from ..errors import PermanentDeliveryError, TemporaryDeliveryError


@dataclass(frozen=True)
class Sms:
    key: str
    to: str
    text: str


def send_sms(message: Sms, cfg: SmsConfig, session: requests.Session | None = None) -> str:
    """Returns the gateway's message id; raises Temporary/PermanentDeliveryError."""
    http = session or requests
    headers = {"Authorization": f"Bearer {cfg.token}"} if cfg.token else {}
    try:
        response = http.post(cfg.url, json={"to": message.to, "message": message.text, "sender": cfg.sender,
                                            "reference": message.key}, headers=headers, timeout=cfg.timeout)
    except requests.RequestException as exc:
        raise TemporaryDeliveryError(f"SMS gateway unreachable ({type(exc).__name__})") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryDeliveryError(f"SMS gateway HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PermanentDeliveryError(f"SMS gateway refused the message: HTTP {response.status_code} "
                                     f"{response.text[:120]}")
    try:
        return str(response.json().get("id", ""))
    except ValueError:
        return ""
