"""Accounts in the web application, served by uvicorn and used over HTTP as a browser would:
signing in and out, wrong passwords and the lockout, CSRF refusals, role scoping, the audit trail,
sessions that end for good, and links that work under a prefix."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from delayhub.errors import ConfigError
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import AuditLog, User
from delayhub.web import i18n
from delayhub.web.accounts import MAX_FAILURES, Role, create_user, hash_password, seed_demo_accounts
from delayhub.web.app import SESSION_COOKIE, create_app
from delayhub.web.csrf import verify_csrf
from delayhub.web.deps import PUBLIC_ROUTES, current_user
from delayhub.web.secret import web_secret

SECRET = "test-secret-" + "y" * 40
PASSWORD = "a-long-test-password"
TODAY = dt.date(2026, 11, 25)
# username: (role, agency, display name)
USERS = {
    "opdc": (Role.OPDC, None, "สมศรี ก.พ.ร."),
    "admin.moc-dbd": (Role.AGENCY_ADMIN, "MOC-DBD", "ผู้ดูแล กรมพัฒนาธุรกิจการค้า"),
    "admin.moph-fda": (Role.AGENCY_ADMIN, "MOPH-FDA", "ผู้ดูแล อย."),
    "officer.moc-dbd-fbl": (Role.OFFICER, "MOC-DBD-FBL", "เจ้าหน้าที่ กองธุรกิจต่างด้าว"),
}


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(base: str, username: str, password: str = PASSWORD, then: str = "/lateness") -> requests.Session:
    """A browser-like session signed in as ``username`` through the login form, which leads on to ``then``
    (fails the test if it cannot)."""
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=30)
    done = http.post(f"{base}/login", data={"csrf_token": form_token(page.text), "username": username,
                                             "password": password, "next": then}, timeout=30)
    assert done.status_code == 200 and done.url == f"{base}{then}", done.text[:500]
    return http


class Client:
    """A signed-in browser-like session against the app served by uvicorn."""

    def __init__(self, base: str, http: requests.Session) -> None:
        self.base, self.http = base, http

    def get(self, path: str, params: dict[str, str] | None = None) -> requests.Response:
        return self.http.get(self.base + path, params=params, timeout=30)


def add_users(store: HubStore, registry: Registry, users: dict[str, tuple[Any, ...]] = USERS) -> None:
    """The accounts ``users`` (username: role, agency and, if given, display name), all with PASSWORD."""
    hashed = hash_password(PASSWORD)  # one slow hash for every test account
    with store.transaction() as s:
        for username, (role, agency, *name) in users.items():
            create_user(s, registry, username=username, display_name=name[0] if name else username, role=role,
                        agency=agency, password=PASSWORD, password_hash=hashed)


def audit_rows(store: HubStore, action: str) -> list[AuditLog]:
    with store.session() as s:
        return list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


@pytest.fixture
def web(store: HubStore, store_url: str, registry: Registry, serve: Callable[[Any], str],
        monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    add_users(store, registry)
    return serve(create_app(store_url, registry=registry, secret=SECRET))


def test_signing_in_opens_the_page_asked_for_and_is_audited(web: str, store: HubStore) -> None:
    http = requests.Session()
    first = http.get(f"{web}/lateness?agency=MOC-DBD", timeout=30)
    assert first.url.startswith(f"{web}/login?next=")  # signed out: to the login page first
    assert '<html lang="th">' in first.text and "เข้าสู่ระบบ" in first.text
    assert '<label for="username">ชื่อผู้ใช้</label>' in first.text
    done = http.post(f"{web}/login", data={"csrf_token": form_token(first.text), "username": "Admin.MOC-DBD ",
                                           "password": PASSWORD, "next": "/lateness?agency=MOC-DBD"}, timeout=30)
    assert done.url == f"{web}/lateness?agency=MOC-DBD"
    assert "ผู้ดูแล กรมพัฒนาธุรกิจการค้า" in done.text and "ผู้ดูแลหน่วยงาน" in done.text
    cookie = done.history[0].headers["set-cookie"].lower()
    assert f"{SESSION_COOKIE}=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    [login] = audit_rows(store, "login")
    assert login.username == "admin.moc-dbd" and login.subject == "user:admin.moc-dbd"
    assert login.after["last_login_at"] and login.before == {"last_login_at": None}


@pytest.mark.parametrize("target", ["//evil.example/lateness", "https://evil.example/", "/\\evil.example"])
def test_signing_in_never_sends_anyone_to_another_site(web: str, target: str) -> None:
    http = requests.Session()
    page = http.get(f"{web}/login", params={"next": target}, timeout=30)
    done = http.post(f"{web}/login", data={"csrf_token": form_token(page.text), "username": "opdc",
                                           "password": PASSWORD, "next": target}, timeout=30)
    assert done.url == f"{web}/lateness"
    assert all(r.headers["location"].startswith("/") and not r.headers["location"].startswith("//")
               for r in done.history)


def test_a_wrong_password_is_refused_in_thai_and_audited(web: str, store: HubStore) -> None:
    http = requests.Session()
    page = http.get(f"{web}/login", timeout=30)
    wrong = http.post(f"{web}/login", data={"csrf_token": form_token(page.text), "username": "opdc",
                                            "password": "not-the-password"}, timeout=30)
    assert wrong.status_code == 400
    assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in wrong.text and "<title>ข้อผิดพลาด: " in wrong.text
    assert 'value="opdc"' in wrong.text and "not-the-password" not in wrong.text  # the password is never echoed
    assert http.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")
    unknown = http.post(f"{web}/login", data={"csrf_token": form_token(page.text), "username": "nobody",
                                              "password": "not-the-password"}, timeout=30)
    assert unknown.status_code == 400 and "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in unknown.text  # no hint either way
    assert [(a.subject, a.user_id) for a in audit_rows(store, "login.failed")] == [("user:opdc", None)]
    empty = http.post(f"{web}/login", data={"csrf_token": form_token(page.text)}, timeout=30)
    assert '<a href="#username">กรุณาระบุชื่อผู้ใช้</a>' in empty.text
    assert '<a href="#password">กรุณาระบุรหัสผ่าน</a>' in empty.text


def test_too_many_wrong_passwords_lock_the_account_for_a_while(web: str, store: HubStore) -> None:
    http = requests.Session()
    token = form_token(http.get(f"{web}/login", timeout=30).text)
    for _ in range(MAX_FAILURES):
        http.post(f"{web}/login", data={"csrf_token": token, "username": "opdc", "password": "guess-guess"},
                  timeout=30)
    locked = http.post(f"{web}/login", data={"csrf_token": token, "username": "opdc", "password": PASSWORD},
                       timeout=30)
    assert locked.status_code == 400 and "กรุณารอ 15 นาที" in locked.text
    assert len(audit_rows(store, "login.refused")) == 1
    sign_in(web, "admin.moph-fda")  # other accounts are not affected


def test_forms_without_their_csrf_token_are_refused(web: str, store: HubStore) -> None:
    http = requests.Session()
    http.get(f"{web}/login", timeout=30)
    for data in ({}, {"csrf_token": "forged"}):
        refused = http.post(f"{web}/login", data={**data, "username": "opdc", "password": PASSWORD}, timeout=30)
        assert refused.status_code == 403 and "แบบฟอร์มหมดอายุ" in refused.text
    assert audit_rows(store, "login") == []
    signed = sign_in(web, "opdc")
    assert signed.post(f"{web}/logout", timeout=30).status_code == 403  # a cross-site logout does nothing
    change = signed.post(f"{web}/account/password", data={"current_password": PASSWORD, "new_password": "x" * 20,
                                                           "confirm_password": "x" * 20}, timeout=30)
    assert change.status_code == 403
    assert signed.get(f"{web}/lateness", timeout=30).url == f"{web}/lateness"  # still signed in
    # a token from another session is no better than none
    other = requests.Session()
    theirs = form_token(other.get(f"{web}/login", timeout=30).text)
    assert signed.post(f"{web}/logout", data={"csrf_token": theirs}, timeout=30).status_code == 403


def test_signing_out_ends_the_session_even_for_a_copied_cookie(web: str, store: HubStore) -> None:
    http = sign_in(web, "opdc")
    stolen = http.cookies.get(SESSION_COOKIE)
    page = http.get(f"{web}/lateness", timeout=30)
    out = http.post(f"{web}/logout", data={"csrf_token": form_token(page.text)}, timeout=30)
    assert out.url.startswith(f"{web}/login") and "ออกจากระบบแล้ว" in out.text
    replay = requests.Session()
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")
    [logout] = audit_rows(store, "logout")
    assert logout.username == "opdc"


def test_changing_the_password_is_audited_and_ends_other_sessions(web: str, store: HubStore) -> None:
    elsewhere = sign_in(web, "officer.moc-dbd-fbl")
    http = sign_in(web, "officer.moc-dbd-fbl")
    form = http.get(f"{web}/account/password", timeout=30)
    assert '<label for="new_password">รหัสผ่านใหม่</label>' in form.text
    short = http.post(f"{web}/account/password", data={"csrf_token": form_token(form.text), "current_password":
                                                        PASSWORD, "new_password": "short", "confirm_password": "x"},
                      timeout=30)
    assert short.status_code == 400 and "รหัสผ่านใหม่ต้องมีอย่างน้อย 10 ตัวอักษร" in short.text
    assert "กรุณายืนยันรหัสผ่านใหม่ให้ตรงกับช่องรหัสผ่านใหม่" in short.text
    new = "ใหม่-ยาวพอ-2569"
    wrong = http.post(f"{web}/account/password", data={"csrf_token": form_token(form.text), "current_password":
                                                        "not-it-at-all", "new_password": new,
                                                        "confirm_password": new}, timeout=30)
    assert wrong.status_code == 400 and "รหัสผ่านปัจจุบันไม่ถูกต้อง" in wrong.text
    done = http.post(f"{web}/account/password", data={"csrf_token": form_token(form.text), "current_password":
                                                       PASSWORD, "new_password": new, "confirm_password": new},
                     timeout=30)
    assert done.status_code == 200 and "เปลี่ยนรหัสผ่านแล้ว" in done.text
    assert http.get(f"{web}/lateness", timeout=30).url == f"{web}/lateness"  # this session goes on
    assert elsewhere.get(f"{web}/lateness", timeout=30).url.startswith(f"{web}/login")  # the other ends
    sign_in(web, "officer.moc-dbd-fbl", new)
    [changed] = audit_rows(store, "password.changed")
    assert changed.username == "officer.moc-dbd-fbl" and changed.after["other_sessions_ended"] == 1
    assert changed.before["password_changed_at"] < changed.after["password_changed_at"]
    with store.session() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == "officer.moc-dbd-fbl"))
    assert password_hash.startswith("$argon2id$")
    trail = str([(a.before, a.after) for a in audit_rows(store, "password.changed")])
    assert new not in trail and password_hash not in trail and PASSWORD not in trail


def test_an_agency_admin_cannot_see_another_departments_rows(web: str, store: HubStore, registry: Registry) -> None:
    from test_lateness_report import fill_known

    fill_known(store, registry)
    moc = sign_in(web, "admin.moc-dbd")
    page = moc.get(f"{web}/lateness", params={"start": "1/11/2569", "end": "25/11/2569"}, timeout=30)
    codes = set(re.findall(r'<tr class="level-\w+" data-code="([^"]*)"', page.text))
    assert codes == {"MOC-DBD", "MOC-DBD-REG", "MOC-DBD-FBL", ""}
    assert "REQ-A1" in page.text and "REQ-C1" not in page.text and "กองอาหาร" not in page.text
    assert 'value="MOPH-FDA"' not in page.text  # not even offered in the agency list
    asked = moc.get(f"{web}/lateness", params={"agency": "MOPH-FDA"}, timeout=30)
    assert asked.status_code == 400 and "กรุณาเลือกหน่วยงานจากรายการ" in asked.text and "REQ-C1" not in asked.text
    for ext in ("csv", "xlsx"):
        assert moc.get(f"{web}/lateness.{ext}", params={"agency": "MOPH-FDA"}, timeout=30).status_code == 400
    csv_text = moc.get(f"{web}/lateness.csv", timeout=30).content.decode("utf-8-sig")
    assert "MOPH" not in csv_text and "MOC-DBD-REG" in csv_text
    officer = sign_in(web, "officer.moc-dbd-fbl")
    own = officer.get(f"{web}/lateness", timeout=30).text
    assert set(re.findall(r'<tr class="level-\w+" data-code="([^"]*)"', own)) == {"MOC-DBD-FBL"}
    assert "REQ-B1" in own and "REQ-A1" not in own


def test_every_route_is_guarded_and_every_form_checks_csrf(registry: Registry) -> None:
    app = create_app("sqlite://", registry=registry, secret=SECRET)

    def calls(dependant) -> set:
        found = {dependant.call}
        for sub in dependant.dependencies:
            found |= calls(sub)
        return found

    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert {r.name for r in routes} >= {"lateness", "lateness_csv", "lateness_xlsx", "password", "logout"}
    for route in routes:
        needs = calls(route.dependant)
        if route.name not in PUBLIC_ROUTES:
            assert current_user in needs, f"{route.path} has no sign-in guard"
        if route.methods - {"GET", "HEAD"}:
            assert verify_csrf in needs, f"{route.path} changes things without a CSRF check"


def test_the_app_works_mounted_under_a_prefix(store: HubStore, store_url: str, registry: Registry,
                                              serve: Callable[[Any], str]) -> None:
    add_users(store, registry)
    host = FastAPI()
    host.mount("/delayhub", create_app(store_url, registry=registry, secret=SECRET))
    base = f"{serve(host)}/delayhub"
    http = requests.Session()
    login = http.get(f"{base}/lateness", timeout=30)
    assert login.url.startswith(f"{base}/login?next=%2Flateness")
    assert 'href="/delayhub/static/app.css"' in login.text and 'action="/delayhub/login"' in login.text
    assert http.get(f"{base}/static/app.css", timeout=30).status_code == 200
    page = http.post(f"{base}/login", data={"csrf_token": form_token(login.text), "username": "opdc",
                                            "password": PASSWORD, "next": "/lateness"}, timeout=30)
    assert page.url == f"{base}/lateness"
    assert 'href="/delayhub/lateness.csv?' in page.text and 'action="/delayhub/logout"' in page.text
    assert not re.search(r'(href|action|src)="/(?!delayhub/)', page.text)  # no link escapes the prefix
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in \
        page.headers["content-security-policy"] and page.headers["cache-control"] == "no-store"


def test_demo_accounts_cover_each_role_and_seed_once(store: HubStore, registry: Registry) -> None:
    accounts = seed_demo_accounts(store, registry)
    again = seed_demo_accounts(store, registry)
    assert accounts == again
    by_name = {a.username: a for a in accounts}
    assert by_name["opdc"].role is Role.OPDC and by_name["opdc"].agency is None
    assert by_name["admin.moc-dbd"].agency == "MOC-DBD" and by_name["officer.moc-dbd-reg"].agency == "MOC-DBD-REG"
    with store.session() as s:
        assert s.scalar(select(User).where(User.username == "admin.moph-fda")).role == "agency_admin"
        assert len(s.scalars(select(User)).all()) == len(accounts)
    assert len(audit_rows(store, "user.created")) == len(accounts)


def test_an_account_is_tied_to_an_agency_of_its_roles_level(store: HubStore, registry: Registry) -> None:
    with store.transaction() as s:
        for role, agency in ((Role.OFFICER, "MOC-DBD"), (Role.AGENCY_ADMIN, "MOC-DBD-REG"), (Role.OPDC, "MOC"),
                             (Role.OFFICER, None), (Role.OFFICER, "NO-SUCH")):
            with pytest.raises(ValueError):
                create_user(s, registry, username="x", display_name="x", role=role, agency=agency,
                            password=PASSWORD, password_hash="unused")


def test_the_session_key_is_made_once_per_install_and_kept_private(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DELAYHUB_WEB_SECRET", raising=False)
    first = web_secret()
    path = tmp_path / "var" / "web-secret"
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert web_secret() == first
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 32"):
        web_secret()
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "z" * 40)
    assert web_secret() == "z" * 40


def test_thai_and_english_say_the_same_things() -> None:
    assert set(i18n.MESSAGES["th"]) == set(i18n.MESSAGES["en"])
    assert i18n.format_date(TODAY, "th") == "25 พฤศจิกายน 2569" and i18n.format_date(TODAY, "en") == "25 November 2026"
