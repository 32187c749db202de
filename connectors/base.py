"""The one protocol every connector speaks: check · discover · read(cursor)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Secrets:
    """What an Airflow Connection (or the environment) gives a connector; never in mappings/."""

    base_url: str = ""
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Page:
    """One page of raw records and the cursor that is safe to save once all pages are stored."""

    records: list[dict[str, Any]]
    cursor: str | None


class Connector(Protocol):
    def check(self) -> tuple[bool, str]:
        """Can we reach and authenticate to the source? (ok, a sentence for the operator)."""

    def discover(self) -> list[str]:
        """Field paths seen in a sample of the source's records."""

    def read(self, cursor: str | None) -> Iterator[Page]:
        """Records changed after ``cursor``, page by page; each page carries the running cursor."""
