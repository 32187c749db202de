"""What routes ask for: the hub store, the registry, the signed-in person, and one role guard.

A route for signed-in people takes ``user: Annotated[WebUser, Depends(require(Role.…))]``:
signed out, the browser is sent to the login page and back; signed in with another role, it gets
403. A test walks ``app.routes`` and fails any route outside ``PUBLIC_ROUTES`` without the guard.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from ..registry import Registry
from ..store import HubStore
from .accounts import Role, WebUser, session_user

SESSION_TOKEN = "sid"  # in the signed cookie: the token of a row in web_sessions
# Routes anyone may open: signing in, the health check, the start page (which redirects), and the
# citizen's tracking page (web/tracking.py: its own second factor, limiter and signed links), and
# signing in with OpenID Connect (web/oidc.py: state, nonce and PKCE; 404 unless configured).
PUBLIC_ROUTES = frozenset({"login", "login_submit", "health", "home", "static",
                           "track", "track_submit", "track_view", "track_letter",
                           "login_oidc", "login_oidc_callback",
                           # the central queue's public pages (web/queue_pages.py): bookers prove their
                           # number by SMS code, kiosks by their key, links by a signature
                           "queue_home", "queue_agency", "queue_web", "queue_web_submit", "queue_mobile",
                           "queue_mobile_submit", "queue_code", "queue_code_submit", "queue_booking", "queue_cancel",
                           "queue_change", "queue_change_submit", "queue_add_phone", "queue_kiosk",
                           "queue_kiosk_submit", "queue_kiosk_ticket", "queue_kiosk_check_in", "queue_ticket_pdf",
                           # the queue's hall display and its live calls (web/queue_counter.py): queue numbers,
                           # counters and services only, no personal data
                           "hall", "hall_events",
                           # the feedback survey (web/survey.py): its single-use link is the key; limited per client
                           "survey", "survey_submit"})


class LoginRequired(Exception):
    """Nobody is signed in (or the session no longer holds): go to the login page."""


class Forbidden(Exception):
    """Signed in, but this role may not open the page."""


class Hub:
    """The app's hub store and registry, opened on first use (creating the app does no I/O on them)."""

    def __init__(self, store_url: str | None, registry: Registry | None) -> None:
        self._url, self._store, self._registry = store_url, None, registry
        self._lock = threading.Lock()

    def store(self) -> HubStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = HubStore.open(self._url)
        return self._store

    def registry(self) -> Registry:
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    self._registry = Registry.load()
        return self._registry

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


T = TypeVar("T")
_made_lock = threading.RLock()  # re-entrant: one page's state may be made from another's (counters → queue)


def made_once(holder: Any, name: str, make: Callable[[], T]) -> T:
    """``holder.<name>``, made by ``make`` on first use, so that two first requests at once share one (one
    limiter's counts, one queue's locks). It lives as long as ``holder``: the app's state, or its hub."""
    found = getattr(holder, name, None)
    if found is None:
        with _made_lock:
            found = getattr(holder, name, None)
            if found is None:
                found = make()
                setattr(holder, name, found)
    return found


def client_address(request: Request) -> str:
    """Whom a per-client limit counts: the address (uvicorn's proxy headers give the real one)."""
    return request.client.host if request.client else "unknown"


def get_store(request: Request) -> HubStore:
    return request.app.state.hub.store()


def get_registry(request: Request) -> Registry:
    return request.app.state.hub.registry()


StoreDep = Annotated[HubStore, Depends(get_store)]
RegistryDep = Annotated[Registry, Depends(get_registry)]


def current_user(request: Request, store: StoreDep) -> WebUser:
    """The signed-in person, re-read from the store on every request: a session ended (signed
    out, password changed elsewhere) or an account disabled stops working at once."""
    token = request.session.get(SESSION_TOKEN)
    user = session_user(store, token) if isinstance(token, str) else None
    if user is None:
        request.session.pop(SESSION_TOKEN, None)
        raise LoginRequired
    request.state.user = user
    return user


CurrentUser = Annotated[WebUser, Depends(current_user)]


def require(*roles: Role) -> Callable[[WebUser], WebUser]:
    """A dependency admitting only ``roles``."""
    allowed = frozenset(roles)
    if not allowed:
        raise TypeError("require() needs at least one role")

    def guard(user: CurrentUser) -> WebUser:
        if user.role not in allowed:
            raise Forbidden
        return user

    guard.roles = allowed  # type: ignore[attr-defined]  # read by the route test
    return guard
