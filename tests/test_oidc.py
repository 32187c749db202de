"""Signing in with OpenID Connect against a real provider served in the test: discovery, a JWKS
with an RSA key made here, an authorize endpoint that approves at once, and a token endpoint
that checks the client secret and the PKCE verifier and signs the ID token. delayhub runs under
uvicorn and a requests session follows the redirects the way a browser would."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Header, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select
from test_web_accounts import SECRET, add_users

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import AuditLog
from delayhub.web.app import create_app

CLIENT_ID = "delayhub-test"
CLIENT_SECRET = "provider-secret-" + secrets.token_hex(16)


def rsa_key(kid: str) -> RSAKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return RSAKey.import_key(pem, {"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Provider:
    """A small OpenID provider. ``person`` is who is signed in at the provider (it approves at
    once); ``mischief`` makes it misbehave in one way, to see delayhub refuse it."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: rsa_key("test-key"))
    person: dict[str, Any] = field(default_factory=dict)
    mischief: str = ""
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    tokens_issued: int = 0
    secrets_seen: list[str] = field(default_factory=list)  # codes, PKCE verifiers and tokens, as they passed

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> JSONResponse:
            return JSONResponse({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            })

        @app.get("/jwks")
        def jwks() -> JSONResponse:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        @app.get("/authorize")
        def authorize(request: Request) -> RedirectResponse:
            q = dict(request.query_params)
            self.authorize_requests.append(q)
            if q.get("response_type") != "code" or q.get("client_id") != CLIENT_ID or \
                    q.get("code_challenge_method") != "S256" or not q.get("state") or not q.get("nonce"):
                raise HTTPException(400, "bad authorization request")
            code = secrets.token_urlsafe(16)
            self.secrets_seen.append(code)
            self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"],
                                "redirect_uri": q["redirect_uri"]}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}",
                                    status_code=302)

        @app.post("/token")
        def token(grant_type: Annotated[str, Form()], code: Annotated[str, Form()],
                  redirect_uri: Annotated[str, Form()], code_verifier: Annotated[str, Form()] = "",
                  authorization: Annotated[str, Header()] = "") -> JSONResponse:
            self.secrets_seen.append(code_verifier)
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if authorization != expected:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self.codes.pop(code, None)  # a code works once
            challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=")
            if grant_type != "authorization_code" or grant is None or redirect_uri != grant["redirect_uri"] \
                    or challenge.decode() != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "auth_time": now,
                      "nonce": grant["nonce"], **self.person}
            key = self.key
            if self.mischief == "nonce":
                claims["nonce"] = "not-the-one-sent"
            elif self.mischief == "audience":
                claims["aud"] = "some-other-client"
            elif self.mischief == "signature":  # same key id, another key: a forged token
                key = rsa_key("test-key")
            self.tokens_issued += 1
            id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
            access_token = secrets.token_urlsafe(24)
            self.secrets_seen += [access_token, id_token]
            return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                 "id_token": id_token})

        return app


@pytest.fixture
def provider(serve: Callable[[Any], str]) -> Provider:
    idp = Provider()
    idp.issuer = serve(idp.app())
    return idp


@pytest.fixture
def configured(store: HubStore, registry: Registry, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test accounts, and the app's environment naming the provider."""
    add_users(store, registry)
    monkeypatch.setenv("DELAYHUB_OIDC_ISSUER", provider.issuer)
    monkeypatch.setenv("DELAYHUB_OIDC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("DELAYHUB_OIDC_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.delenv("DELAYHUB_OIDC_ROLE_CLAIM", raising=False)


@pytest.fixture
def web(configured: None, store_url: str, registry: Registry, serve: Callable[[Any], str]) -> str:
    return serve(create_app(store_url, registry=registry, secret=SECRET))


def audit_rows(store: HubStore, action: str) -> list[AuditLog]:
    with store.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def oidc_link(http: requests.Session, web: str, next_path: str = "/lateness") -> str:
    page = http.get(f"{web}/login", params={"next": next_path}, timeout=30)
    found = re.search(r'<a class="button secondary" href="([^"]+)">เข้าสู่ระบบด้วย OpenID Connect</a>', page.text)
    assert found, page.text
    return web + found.group(1).replace("&amp;", "&")


def test_a_known_user_signs_in_through_the_provider(web: str, provider: Provider, store: HubStore,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider.person = {"sub": "idp-0001", "preferred_username": "Admin.MOC-DBD", "email": "x@example.org"}
    http = requests.Session()
    done = http.get(oidc_link(http, web), timeout=30)
    assert done.status_code == 200 and done.url == f"{web}/lateness"
    assert "ผู้ดูแล กรมพัฒนาธุรกิจการค้า" in done.text and "ผู้ดูแลหน่วยงาน" in done.text
    [asked] = provider.authorize_requests
    assert asked["scope"].split() == ["openid", "profile", "email"] and len(asked["nonce"]) >= 16
    assert asked["redirect_uri"] == f"{web}/login/oidc/callback" and len(asked["code_challenge"]) == 43
    [row] = audit_rows(store, "login_oidc")
    assert row.username == "admin.moc-dbd" and row.subject == "user:admin.moc-dbd"
    assert row.after["sub"] == "idp-0001" and row.after["issuer"] == provider.issuer
    assert http.get(f"{web}/account/password", timeout=30).status_code == 200  # the same session as a password's
    page = http.get(f"{web}/lateness", timeout=30)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    out = http.post(f"{web}/logout", data={"csrf_token": csrf}, timeout=30)
    assert out.url.startswith(f"{web}/login") and "ออกจากระบบแล้ว" in out.text
    assert http.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")
    trail = str([(a.before, a.after) for a in audit_rows(store, "login_oidc")])
    assert CLIENT_SECRET not in caplog.text and CLIENT_SECRET not in trail


def test_a_verified_email_matches_an_account_too(web: str, provider: Provider, store: HubStore) -> None:
    provider.person = {"sub": "idp-0002", "email": "OPDC", "email_verified": True}
    http = requests.Session()
    assert http.get(oidc_link(http, web), timeout=30).url == f"{web}/lateness"
    provider.person = {"sub": "idp-0003", "email": "opdc", "email_verified": False}  # not vouched for: no match
    other = requests.Session()
    refused = other.get(oidc_link(other, web), timeout=30)
    assert refused.status_code == 403 and "ไม่พบบัญชีผู้ใช้ในระบบ" in refused.text


def test_an_unknown_person_gets_the_thai_no_account_page_and_no_account(web: str, provider: Provider,
                                                                        store: HubStore) -> None:
    provider.person = {"sub": "idp-9999", "preferred_username": "stranger", "email": "stranger@example.org",
                       "email_verified": True}
    http = requests.Session()
    page = http.get(oidc_link(http, web), timeout=30)
    assert page.status_code == 403 and '<html lang="th">' in page.text
    assert "<h1>ไม่พบบัญชีผู้ใช้ในระบบ</h1>" in page.text and "ผู้ดูแลหน่วยงาน" in page.text
    assert http.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")  # not signed in
    [refused] = audit_rows(store, "login_oidc.refused")
    assert refused.subject == "oidc:idp-9999" and refused.after["reason"] == "no_account"
    assert refused.user_id is None and audit_rows(store, "login_oidc") == []
    with store.session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "user.created",
                                               AuditLog.subject == "user:stranger")) is None


def test_a_tampered_state_is_refused_before_the_code_is_redeemed(web: str, provider: Provider,
                                                                 store: HubStore) -> None:
    provider.person = {"sub": "idp-0001", "preferred_username": "opdc"}
    http = requests.Session()
    to_provider = http.get(oidc_link(http, web), allow_redirects=False, timeout=30)
    assert to_provider.status_code == 302 and to_provider.headers["location"].startswith(f"{provider.issuer}/")
    back = http.get(to_provider.headers["location"], allow_redirects=False, timeout=30).headers["location"]
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = urlunsplit(parts._replace(query=urlencode({**query, "state": query["state"][:-2] + "xx"})))
    refused = http.get(forged, timeout=30)
    assert refused.status_code == 400 and "<h1>เข้าสู่ระบบไม่สำเร็จ</h1>" in refused.text
    assert provider.tokens_issued == 0  # the code was never sent to the provider
    assert http.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")
    # the genuine answer no longer works either: the state was used up by the refusal
    assert http.get(back, timeout=30).status_code == 400
    assert [a.after["error"] for a in audit_rows(store, "login_oidc.failed")] == ["mismatching_state"] * 2
    assert audit_rows(store, "login_oidc") == []


@pytest.mark.parametrize("mischief", ["nonce", "audience", "signature"])
def test_an_id_token_that_does_not_verify_is_refused(web: str, provider: Provider, store: HubStore,
                                                     mischief: str) -> None:
    provider.person = {"sub": "idp-0001", "preferred_username": "opdc"}
    provider.mischief = mischief
    http = requests.Session()
    refused = http.get(oidc_link(http, web), timeout=30)
    assert refused.status_code == 400 and "<h1>เข้าสู่ระบบไม่สำเร็จ</h1>" in refused.text
    assert provider.tokens_issued == 1
    assert http.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")
    assert len(audit_rows(store, "login_oidc.failed")) == 1 and audit_rows(store, "login_oidc") == []


def test_the_role_claim_must_vouch_for_the_accounts_role(web: str, provider: Provider, store: HubStore,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_OIDC_ROLE_CLAIM", "groups:dh-officers=officer,dh-opdc=opdc")
    provider.person = {"sub": "idp-0001", "preferred_username": "opdc", "groups": ["dh-officers", "staff"]}
    http = requests.Session()
    refused = http.get(oidc_link(http, web), timeout=30)
    assert refused.status_code == 403 and "<h1>สิทธิ์ไม่ตรงกับบัญชีผู้ใช้</h1>" in refused.text
    [row] = audit_rows(store, "login_oidc.refused")
    assert row.after["reason"] == "role" and row.after["role_claim"] == ["officer"]
    provider.person["groups"] = ["dh-opdc"]
    assert http.get(oidc_link(http, web), timeout=30).url == f"{web}/lateness"


def test_without_configuration_there_is_no_button_and_no_route(store: HubStore, store_url: str, registry: Registry,
                                                               serve: Callable[[Any], str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DELAYHUB_OIDC_ISSUER", "DELAYHUB_OIDC_CLIENT_ID", "DELAYHUB_OIDC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    web = serve(create_app(store_url, registry=registry, secret=SECRET))
    page = requests.get(f"{web}/login", timeout=30)
    assert page.status_code == 200 and "เข้าสู่ระบบ" in page.text and "OpenID" not in page.text
    assert requests.get(f"{web}/login/oidc", timeout=30).status_code == 404
    assert requests.get(f"{web}/login/oidc/callback?code=x&state=y", timeout=30).status_code == 404


def test_at_debug_no_log_holds_the_code_the_pkce_verifier_or_a_token(
        configured: None, store_url: str, registry: Registry, provider: Provider,
        caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG, authlib's by name too (it logs the PKCE verifier there), and uvicorn's access
    log on (the provider sends the code back in the callback's query string): one sign-in, then no
    captured line holds the code, the verifier, a token or the client secret."""
    import socket
    import threading

    import uvicorn

    app = create_app(store_url, registry=registry, secret=SECRET)
    caplog.set_level(logging.DEBUG)
    for name in ("authlib", "authlib.integrations.base_client.sync_app", "httpx", "httpcore", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    # the app under uvicorn with its access log on, logging through the root logger (caplog)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=True,
                                           log_level="debug", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    web = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        provider.person = {"sub": "idp-0001", "preferred_username": "opdc"}
        http = requests.Session()
        assert http.get(oidc_link(http, web), timeout=30).url == f"{web}/lateness"  # signed in
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    # urllib3 is the test's browser (requests), in this process only because the test is: left out
    logged = "\n".join(caplog.handler.format(r) for r in caplog.records if not r.name.startswith("urllib3"))
    assert "GET /login/oidc/callback?code=***&state=*** HTTP/1.1" in logged  # the callback was logged
    code, verifier, access_token, id_token = provider.secrets_seen
    for name, secret in (("authorization code", code), ("PKCE verifier", verifier), ("access token", access_token),
                         ("ID token", id_token), ("client secret", CLIENT_SECRET)):
        assert secret not in logged, f"the {name} reached the log"
    assert "Using code_verifier" not in logged
