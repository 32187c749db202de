"""Signing in with an OpenID Connect provider, as an alternative to passwords.

Configuration only: ``DELAYHUB_OIDC_ISSUER``, ``DELAYHUB_OIDC_CLIENT_ID`` and
``DELAYHUB_OIDC_CLIENT_SECRET`` turn it on (the login page then offers the provider); without
them nothing here is reachable. The provider is found by discovery
(``<issuer>/.well-known/openid-configuration``) and used with the authorization code flow,
PKCE (S256), a nonce and a state kept in the signed session cookie (authlib's Starlette client).

The provider proves who someone is; delayhub still decides what they may do. The verified ID
token's ``preferred_username`` (or, when the provider says it is verified, ``email``) must name an
existing, active account an administrator made; nobody is created on the fly. An optional
``DELAYHUB_OIDC_ROLE_CLAIM`` makes the provider vouch for the account's role as well:
``groups`` (the claim must hold the role's name, e.g. ``officer``) or
``groups:delayhub-officers=officer,delayhub-admins=agency_admin,opdc-staff=opdc`` (its values
mapped to roles first). Neither the client secret nor any token is ever logged or audited.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import authlib.deprecate  # noqa: F401  (sets authlib's own warning filter before ours below)
from authlib.common.errors import AuthlibBaseError
from fastapi import Request
from joserfc.errors import JoseError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .. import config
from ..store import HubStore
from ..store.models import User
from .accounts import Role, WebUser, normalise_username, open_session
from .audit import audit

with warnings.catch_warnings():
    # authlib prefers the "httpx2" fork and warns when it falls back to httpx, which works the same
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.starlette_client import OAuth, OAuthError

ISSUER_ENV = "DELAYHUB_OIDC_ISSUER"
CLIENT_ID_ENV = "DELAYHUB_OIDC_CLIENT_ID"
CLIENT_SECRET_ENV = "DELAYHUB_OIDC_CLIENT_SECRET"
ROLE_CLAIM_ENV = "DELAYHUB_OIDC_ROLE_CLAIM"
CLIENT_NAME = "delayhub"  # authlib keeps the flow's state under "_state_delayhub_<state>" in the session
SCOPE = "openid profile email"
NEXT_KEY = "oidc_next"  # where to go once signed in, kept in the session across the round trip
HTTP_TIMEOUT = 10.0

log = logging.getLogger(__name__)

__all__ = ["OAuthError", "OidcFailed", "OidcOutcome", "OidcSettings", "begin", "finish", "forget_pending",
           "record_failure", "settings"]


class OidcFailed(Exception):
    """The provider could not be used: discovery failed, or it names another issuer."""


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)  # never printed, even in a traceback's locals
    role_claim: str | None = None
    role_map: tuple[tuple[str, str], ...] = ()  # (value in the claim, delayhub role)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def roles_vouched(self, claims: Mapping[str, Any]) -> set[str] | None:
        """The delayhub roles the provider's role claim stands for; None when no claim is set."""
        if not self.role_claim:
            return None
        value = claims.get(self.role_claim)
        if isinstance(value, str):
            values = [value]
        elif isinstance(value, list | tuple):
            values = [v for v in value if isinstance(v, str)]
        else:
            values = []
        if not self.role_map:
            return set(values)
        mapping: dict[str, set[str]] = {}
        for source, role in self.role_map:
            mapping.setdefault(source, set()).add(role)
        return set().union(*(mapping.get(v, set()) for v in values))


def _parse_role_claim(text: str) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """``claim`` or ``claim:value=role,value=role`` (roles: officer, agency_admin, opdc)."""
    text = text.strip()
    if not text:
        return None, ()
    name, _, pairs = text.partition(":")
    mapping = []
    for pair in filter(None, (p.strip() for p in pairs.split(","))):
        source, sep, role = pair.rpartition("=")
        if not sep or not source.strip():
            raise ValueError(f"{ROLE_CLAIM_ENV}: expected value=role, got {pair!r}")
        mapping.append((source.strip(), Role(role.strip()).value))
    return name.strip(), tuple(mapping)


def settings(environ: Mapping[str, str] | None = None) -> OidcSettings | None:
    """The provider from the environment, or None when OpenID Connect is not configured."""
    env = os.environ if environ is None else environ
    issuer, client_id, secret = (env.get(k, "").strip() for k in (ISSUER_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV))
    if not (issuer and client_id and secret):
        return None
    role_claim, role_map = _parse_role_claim(env.get(ROLE_CLAIM_ENV, ""))
    return OidcSettings(issuer, client_id, secret, role_claim, role_map)


def _client(request: Request, conf: OidcSettings) -> Any:
    """authlib's client for ``conf``, kept on the app so discovery and the JWKS are fetched once."""
    clients: dict[OidcSettings, Any] | None = getattr(request.app.state, "oidc_clients", None)
    if clients is None:
        clients = request.app.state.oidc_clients = {}
    client = clients.get(conf)
    if client is None:
        oauth = OAuth()
        client = oauth.register(CLIENT_NAME, client_id=conf.client_id, client_secret=conf.client_secret,
                                server_metadata_url=conf.discovery_url,
                                client_kwargs={"scope": SCOPE, "code_challenge_method": "S256",
                                               "timeout": HTTP_TIMEOUT})
        clients.clear()  # settings changed: forget the old provider
        clients[conf] = client
    return client


async def _metadata(client: Any, conf: OidcSettings) -> dict[str, Any]:
    try:
        metadata = await client.load_server_metadata()
    except Exception as exc:  # network, JSON: the provider is not usable right now
        log.warning("OpenID Connect discovery at %s failed: %s", conf.discovery_url, type(exc).__name__)
        raise OidcFailed("discovery failed") from exc
    if metadata.get("issuer", "").rstrip("/") != conf.issuer.rstrip("/"):
        log.warning("OpenID Connect discovery at %s names another issuer", conf.discovery_url)
        raise OidcFailed("issuer mismatch")
    return metadata


async def begin(request: Request, conf: OidcSettings, redirect_uri: str, next_path: str) -> Response:
    """Send the browser to the provider (state, nonce and PKCE verifier kept in the session)."""
    client = _client(request, conf)
    await _metadata(client, conf)
    request.session[NEXT_KEY] = next_path
    return await client.authorize_redirect(request, redirect_uri)


@dataclass(frozen=True)
class OidcOutcome:
    user: WebUser | None
    token: str = ""  # the new session's token, for the signed cookie
    next_path: str = "/"
    reason: str = ""  # why nobody was signed in: no_account, inactive, role


async def finish(request: Request, store: HubStore, conf: OidcSettings) -> OidcOutcome:
    """Check the provider's answer (state, code exchange with the PKCE verifier, the ID token's
    signature, issuer, audience, expiry and nonce) and open a session for the account it names.

    Raises ``OAuthError`` when the answer itself is refused (a wrong or replayed state, an error
    from the provider, a token that does not verify).
    """
    client = _client(request, conf)
    await _metadata(client, conf)
    next_path = request.session.pop(NEXT_KEY, "/")
    try:
        token = await client.authorize_access_token(request)
    except OAuthError:
        raise
    except (AuthlibBaseError, JoseError) as exc:  # the code exchange failed, or the ID token did not verify
        error = getattr(exc, "error", None) or type(exc).__name__
        raise OAuthError(error=str(error), description="the provider's answer was refused") from exc
    claims = token.get("userinfo")
    if not claims:
        raise OAuthError(error="missing_id_token", description="the provider sent no ID token")
    outcome = await run_in_threadpool(_open_session, store, conf, dict(claims))
    return OidcOutcome(outcome.user, outcome.token, next_path, outcome.reason)


def _candidates(claims: Mapping[str, Any]) -> list[str]:
    names = []
    if isinstance(claims.get("preferred_username"), str):
        names.append(normalise_username(claims["preferred_username"]))
    if isinstance(claims.get("email"), str) and claims.get("email_verified") is True:
        names.append(normalise_username(claims["email"]))
    return [n for n in dict.fromkeys(names) if n]


def _open_session(store: HubStore, conf: OidcSettings, claims: dict[str, Any]) -> OidcOutcome:
    """Match the verified claims to an account and open a session the way a password sign-in does;
    every outcome is audited (never the tokens, only what a reviewer needs to follow it up)."""
    now = config.now()
    names = _candidates(claims)
    seen = {"issuer": conf.issuer, "sub": str(claims.get("sub", "")),
            "preferred_username": claims.get("preferred_username")}
    with store.transaction() as s:
        row = None
        for name in names:
            row = s.scalar(select(User).where(User.username == name))
            if row is not None:
                break
        if row is None:
            audit(s, None, "login_oidc.refused", f"oidc:{seen['sub']}", None, {**seen, "reason": "no_account"})
            return OidcOutcome(None, reason="no_account")
        subject = f"user:{row.username}"
        if not row.active:
            audit(s, None, "login_oidc.refused", subject, None, {**seen, "reason": "inactive"})
            return OidcOutcome(None, reason="inactive")
        vouched = conf.roles_vouched(claims)
        if vouched is not None and row.role not in vouched:
            audit(s, None, "login_oidc.refused", subject, None, {**seen, "reason": "role",
                                                                 "role_claim": sorted(vouched)})
            return OidcOutcome(None, reason="role")
        before = {"last_login_at": row.last_login_at}
        row.last_login_at = now
        token = open_session(s, row.id, now)
        user = WebUser.of(row)
        audit(s, user, "login_oidc", subject, before, {"last_login_at": now, **seen})
        return OidcOutcome(user, token)



def record_failure(store: HubStore, conf: OidcSettings, exc: OAuthError) -> None:
    """Audit a refused answer from the provider (its error code only: no token, no code)."""
    with store.transaction() as s:
        audit(s, None, "login_oidc.failed", f"oidc:{conf.issuer}", None, {"error": str(exc.error or "")[:80]})


def forget_pending(request: Request) -> None:
    """Drop every sign-in still under way in this session: after a refused answer, start over."""
    for key in [k for k in request.session if k.startswith(f"_state_{CLIENT_NAME}_")]:
        del request.session[key]
    request.session.pop(NEXT_KEY, None)
