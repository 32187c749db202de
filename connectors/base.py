"""The one protocol every connector speaks: check · discover · read(cursor).

A connector takes plain settings (the mapping's ``source`` block), ``Secrets`` (from an Airflow
Connection or the environment, never from mappings/) and, where it keeps state of its own
beyond a cursor, a ``ConnectorState`` (the hub store implements it). It imports no Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from delayhub.normalise import get_path


@dataclass(frozen=True)
class Secrets:
    """What an Airflow Connection (or the environment) gives a connector; never in mappings/."""

    base_url: str = ""
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    host: str | None = None
    port: int | None = None
    schema: str | None = None  # the Connection's schema field: database name for ODBC


@dataclass(frozen=True)
class Reject:
    """Something a connector could not turn into records at all (a malformed file, say).

    It goes to quarantine whole, with its reason; the rest of the read goes on.
    """

    source_id: str  # e.g. the file name
    field: str  # e.g. "file" or "file:line 7"
    reason: str
    raw: dict[str, Any]


@dataclass
class Page:
    """One page of raw records and the cursor that is safe to save once all pages are stored.

    ``ack`` is called after the page is stored (a file connector archives its file then);
    ``rejects`` are quarantined with the page.
    """

    records: list[dict[str, Any]]
    cursor: str | None
    rejects: list[Reject] = field(default_factory=list)
    ack: Callable[[], None] | None = None


def field_paths(record: Any, prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of a record (``applicant.pid``…), for ``discover()``."""
    if isinstance(record, dict):
        out: set[str] = set()
        for key, value in record.items():
            out |= field_paths(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"}
        return out
    return {prefix.rstrip(".")}


def advance_cursor(running: str | None, records: list[dict[str, Any]], cursor_field: str | None) -> str | None:
    """The highest cursor value seen so far (compared as text, as back offices write them).

    Records without the cursor field are kept; they just do not move the cursor.
    """
    if not cursor_field:
        return running
    values = [str(v) for r in records if (v := get_path(r, cursor_field)) is not None]
    if not values:
        return running
    return max([running, *values]) if running else max(values)


class ConnectorState(Protocol):
    """State some connectors keep in the hub store."""

    def ledger_has(self, connector_id: str, sha256: str) -> bool:
        """Was a file with this content already read by this connector?"""

    def ledger_add(self, connector_id: str, sha256: str, name: str, rows: int, status: str) -> None:
        """Remember a file read (status processed | quarantined)."""

    def pushed_records(self, connector_id: str, after_id: int, limit: int) -> list[tuple[int, dict[str, Any]]]:
        """Records an agency pushed to the intake endpoint, oldest first, after ``after_id``."""


class Connector(Protocol):
    def check(self) -> tuple[bool, str]:
        """Can we reach and authenticate to the source? (ok, a sentence for the operator)."""

    def discover(self) -> list[str]:
        """Field paths seen in a sample of the source's records."""

    def read(self, cursor: str | None) -> Iterator[Page]:
        """Records changed after ``cursor``, page by page; each page carries the running cursor."""
