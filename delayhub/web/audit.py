"""The audit trail: who did what to which subject, when, with the values before and after.

Every change a person makes through the web application calls ``audit`` in the same transaction
as the change, so the change and its trail land together or not at all. Values are kept as JSON;
callers pass what a reviewer needs, never a password, hash or personal data in clear.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from .. import config
from ..store.models import AuditLog


class Actor(Protocol):
    id: int
    username: str


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # dates and datetimes become ISO text, the way JSON columns can hold them on every backend
    return None if value is None else json.loads(json.dumps(value, default=lambda v: v.isoformat()))


def audit(session: Session, user: Actor | None, action: str, subject: str,
          before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> AuditLog:
    """Add one row to ``audit_log`` in ``session``'s transaction; ``user`` None means the system."""
    row = AuditLog(at=config.now(), user_id=user.id if user else None, username=user.username if user else None,
                   action=action, subject=subject, before=_jsonable(before), after=_jsonable(after))
    session.add(row)
    return row


def audited_by(user: Actor) -> Callable[[Session, str, str, dict[str, Any] | None, dict[str, Any] | None], None]:
    """``audit`` with ``user`` filled in: the hook the desk's and the counters' rules call in their transaction."""
    def audited(session: Session, action: str, subject: str, before: dict[str, Any] | None,
                after: dict[str, Any] | None) -> None:
        audit(session, user, action, subject, before, after)

    return audited
