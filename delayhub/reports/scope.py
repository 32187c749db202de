"""Which requests a person may see: every agency, or one ministry, department or division.

The one place a role's reach becomes SQL: every report (and, later, the officer's desk) filters
requests through ``AgencyScope.clause()``, never through a ``where`` written per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, true

from ..registry import Agency, Registry
from ..store.models import Request

Level = Literal["all", "ministry", "department", "division"]
LEVELS: tuple[Level, ...] = ("all", "ministry", "department", "division")  # widest first


@dataclass(frozen=True)
class AgencyScope:
    level: Level
    code: str | None = None

    @classmethod
    def everything(cls) -> AgencyScope:
        return cls("all")

    @classmethod
    def of(cls, agency: Agency) -> AgencyScope:
        """One agency of the registry and everything under it."""
        return cls(agency.level, agency.code)  # type: ignore[arg-type]

    @property
    def depth(self) -> int:
        """0 for every agency, 1 for a ministry, 2 for a department, 3 for a division."""
        return LEVELS.index(self.level)

    def clause(self) -> ColumnElement[bool]:
        """Requests inside the scope, as a condition on the ``requests`` table."""
        if self.level == "all":
            return true()
        column = {"ministry": Request.ministry, "department": Request.department, "division": Request.division}
        return column[self.level] == self.code

    def covers(self, agency: Agency, registry: Registry) -> bool:
        """Whether every request of ``agency`` (a node of the registry) is inside the scope."""
        if self.level == "all":
            return True
        node: Agency | None = agency
        while node is not None:  # the scope's own node or one of its descendants
            if node.code == self.code:
                return True
            node = registry.agencies.get(node.parent) if node.parent else None
        return False

    def agencies(self, registry: Registry) -> list[Agency]:
        """The registry's agencies inside the scope, in tree order (ministry, its departments, …)."""
        return [a for a in registry.agencies.values() if self.covers(a, registry)]

