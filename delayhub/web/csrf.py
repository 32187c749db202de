"""One CSRF token per session, in every form, checked on every change.

Templates put ``{{ csrf_field() }}`` inside each ``<form method="post">``; every route that
changes something depends on ``verify_csrf`` (a test walks the routes and fails one that does
not). Scripts may send the token as the ``X-CSRF-Token`` header instead of a form field.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Form, Request
from markupsafe import Markup, escape

SESSION_KEY = "csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


class CsrfRefused(Exception):
    """A form came without this session's token: expired, or sent from another site."""


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not token:
        token = request.session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_field(request: Request) -> Markup:
    return Markup(f'<input type="hidden" name="{FIELD}" value="{escape(csrf_token(request))}">')


def new_token(request: Request) -> None:
    """A fresh token, e.g. on signing in, so one seen before cannot be used after."""
    request.session[SESSION_KEY] = secrets.token_urlsafe(32)


async def verify_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    expected = request.session.get(SESSION_KEY)
    sent = csrf_token or request.headers.get(HEADER, "")
    if not expected or not sent or not hmac.compare_digest(sent.encode(), str(expected).encode()):
        raise CsrfRefused
