"""People who sign in: roles, agency scope, argon2 passwords, sign-in with a lockout, demo accounts.

An officer works in one division, an agency admin over one department, the OPDC over every
agency; ``WebUser.scope`` turns that into the ``AgencyScope`` every query filters by.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from .. import config
from ..registry import Registry
from ..reports.scope import AgencyScope
from ..store import HubStore
from ..store.models import AuditLog, User, WebSession
from .audit import audit


class Role(StrEnum):
    OFFICER = "officer"
    AGENCY_ADMIN = "agency_admin"
    OPDC = "opdc"


# The registry level of the agency each role is tied to (the OPDC is tied to none).
ROLE_LEVEL: dict[Role, str | None] = {Role.OFFICER: "division", Role.AGENCY_ADMIN: "department", Role.OPDC: None}
MIN_PASSWORD_LENGTH = 10
MAX_FAILURES = 5  # wrong passwords for one account within LOCKOUT before it is refused for a while
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=8)  # a working day; the cookie lives as long

_hasher = PasswordHasher()  # argon2id with the library's recommended cost


@cache
def _no_such_user() -> str:
    # checked against when the username is unknown, so that costs as long as a wrong password
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class WebUser:
    """The signed-in person as the request sees them (not an ORM row: safe to pass around)."""

    id: int
    username: str
    display_name: str
    role: Role
    agency: str | None

    @property
    def scope(self) -> AgencyScope:
        if self.role is Role.OPDC:
            return AgencyScope.everything()
        return AgencyScope("division" if self.role is Role.OFFICER else "department", self.agency)

    @classmethod
    def of(cls, row: User) -> WebUser:
        return cls(row.id, row.username, row.display_name, Role(row.role), row.agency)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _session_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return username.strip().lower()


def create_user(session: Session, registry: Registry, *, username: str, display_name: str, role: Role | str,
                agency: str | None, password: str, by: WebUser | None = None,
                password_hash: str | None = None) -> User:
    """Add an account (audited). The agency must be a division for an officer, a department for
    an agency admin, and none for the OPDC; raises ValueError otherwise. ``password_hash``, when
    given, is ``hash_password(password)`` made already (seeding many accounts with one password)."""
    role = Role(role)
    level = ROLE_LEVEL[role]
    if level is None and agency:
        raise ValueError(f"an {role.value} account covers every agency: give no agency (got {agency!r})")
    if level is not None:
        found = registry.agencies.get(agency or "")
        if found is None or found.level != level:
            raise ValueError(f"an {role.value} account needs a {level} code from data/registry/agencies.json "
                             f"(got {agency!r})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    now = config.now()
    row = User(username=normalise_username(username), display_name=display_name, role=role.value,
               agency=agency or None, password_hash=password_hash or hash_password(password), active=True,
               created_at=now, password_changed_at=now)
    session.add(row)
    session.flush()
    audit(session, by, "user.created", f"user:{row.username}", None,
          {"display_name": display_name, "role": role.value, "agency": row.agency, "active": True})
    return row


@dataclass(frozen=True)
class LoginOutcome:
    user: WebUser | None
    token: str = ""  # the new session's token, for the signed cookie
    locked: bool = False


def login(store: HubStore, username: str, password: str) -> LoginOutcome:
    """Check a username and password and, when right, open a session; every attempt on an
    existing account is audited.

    After ``MAX_FAILURES`` wrong passwords within ``LOCKOUT`` the account is refused (even with
    the right password) until the window has passed. An unknown username, a wrong password and a
    disabled account look the same to the caller.
    """
    username = normalise_username(username)
    now = config.now()
    with store.transaction() as s:
        row = s.scalar(select(User).where(User.username == username))
        if row is None:
            verify_password(_no_such_user(), password)
            return LoginOutcome(None)
        subject = f"user:{row.username}"
        failures = s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.subject == subject, AuditLog.action == "login.failed", AuditLog.at >= now - LOCKOUT))
        if failures >= MAX_FAILURES:
            audit(s, None, "login.refused", subject, None, {"reason": "locked"})
            return LoginOutcome(None, locked=True)
        if not verify_password(row.password_hash, password) or not row.active:
            audit(s, None, "login.failed", subject, None, {"active": row.active})
            return LoginOutcome(None)
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
        before = {"last_login_at": row.last_login_at}
        row.last_login_at = now
        token = open_session(s, row.id, now)
        user = WebUser.of(row)
        audit(s, user, "login", subject, before, {"last_login_at": now})
        return LoginOutcome(user, token)


def open_session(s: Session, user_id: int, now: dt.datetime) -> str:
    """Start a session for a user who has just proven who they are (password or OpenID Connect);
    returns the cookie's token. Only its hash is kept, so the table gives nobody a usable cookie."""
    token = secrets.token_urlsafe(32)
    s.execute(delete(WebSession).where(WebSession.expires_at < now))  # sessions long over
    s.add(WebSession(id=_session_key(token), user_id=user_id, created_at=now, expires_at=now + SESSION_LIFETIME))
    return token


def session_user(store: HubStore, token: str) -> WebUser | None:
    """The person behind a session token, while the session is open and the account active."""
    with store.autocommit() as s:
        row = s.scalar(select(User).join(WebSession, WebSession.user_id == User.id).where(
            WebSession.id == _session_key(token), WebSession.ended_at.is_(None),
            WebSession.expires_at > config.now(), User.active.is_(True)))
    return WebUser.of(row) if row is not None else None


def logout(store: HubStore, user: WebUser, token: str) -> None:
    """End the session for good (a copy of the cookie no longer works) and audit it."""
    with store.transaction() as s:
        s.execute(update(WebSession).where(WebSession.id == _session_key(token), WebSession.ended_at.is_(None))
                  .values(ended_at=config.now()))
        audit(s, user, "logout", f"user:{user.username}")


def change_password(store: HubStore, user: WebUser, token: str, current: str, new: str) -> bool:
    """Set a new password after checking the current one, and end every other session of the
    account; False when the current password is wrong. The caller checks the new password's rules."""
    with store.transaction() as s:
        row = s.get(User, user.id)
        if row is None or not verify_password(row.password_hash, current):
            return False
        before = {"password_changed_at": row.password_changed_at}
        row.password_hash, row.password_changed_at = hash_password(new), config.now()
        ended = s.execute(update(WebSession).where(
            WebSession.user_id == user.id, WebSession.id != _session_key(token), WebSession.ended_at.is_(None))
            .values(ended_at=config.now())).rowcount
        audit(s, user, "password.changed", f"user:{row.username}", before,
              {"password_changed_at": row.password_changed_at, "other_sessions_ended": ended})
        return True


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    agency: str | None
    display_name: str


DEMO_PASSWORDS = {Role.OPDC: "opdc-demo-2569", Role.AGENCY_ADMIN: "admin-demo-2569",
                  Role.OFFICER: "officer-demo-2569"}


def demo_accounts(registry: Registry) -> list[DemoAccount]:
    """The OPDC, an admin for each department with a manual, an officer for each such division."""
    divisions = sorted({m.division for m in registry.manuals.values()})
    departments = sorted({registry.department_of(d).code for d in divisions})
    accounts = [DemoAccount("opdc", DEMO_PASSWORDS[Role.OPDC], Role.OPDC, None, "ผู้ทดลองใช้ สำนักงาน ก.พ.ร.")]
    for code in departments:
        accounts.append(DemoAccount(f"admin.{code.lower()}", DEMO_PASSWORDS[Role.AGENCY_ADMIN], Role.AGENCY_ADMIN,
                                    code, f"ผู้ดูแลทดลอง {registry.agencies[code].name}"))
    for code in divisions:
        accounts.append(DemoAccount(f"officer.{code.lower()}", DEMO_PASSWORDS[Role.OFFICER], Role.OFFICER, code,
                                    f"เจ้าหน้าที่ทดลอง {registry.agencies[code].name}"))
    return accounts


def seed_demo_accounts(store: HubStore, registry: Registry | None = None) -> list[DemoAccount]:
    """Create the demo accounts that do not exist yet (an existing one keeps its password).

    For the embedded demo only: the passwords are public, so each is hashed once for all the
    accounts that share it (argon2 is slow on purpose). Returns every demo account.
    """
    registry = registry or Registry.load()
    accounts = demo_accounts(registry)
    with store.transaction() as s:
        have = set(s.scalars(select(User.username).where(User.username.in_([a.username for a in accounts]))))
        hashes: dict[str, str] = {}
        for a in accounts:
            if a.username not in have:
                if a.password not in hashes:
                    hashes[a.password] = hash_password(a.password)
                create_user(s, registry, username=a.username, display_name=a.display_name, role=a.role,
                            agency=a.agency, password=a.password, password_hash=hashes[a.password])
    return accounts
