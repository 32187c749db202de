"""Records an agency pushed to the hub's intake (delayhub.intake), read back from the store.

Nothing is fetched from the agency: the intake has already checked each record and kept the
accepted ones in the store's push inbox, in arrival order with increasing ids. This connector
pages through that inbox after the saved cursor (the last id read), so the ingest DAG treats a
pushing agency like any other source. The Connection's password is the agency's key; only the
intake uses it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from delayhub.errors import ConfigError

from .base import ConnectorState, Page, Secrets, field_paths

DEFAULT_PAGE_SIZE = 1000
COUNT_CAP = 10_000  # check() stops counting here: it is a sentence for the operator, not a report


class PushConnector:
    def __init__(self, source: dict[str, Any], secrets: Secrets, state: ConnectorState | None = None,
                 connector_id: str = "") -> None:
        where = f"connector {connector_id or source.get('connection_id')!r}"
        if state is None:
            raise ConfigError(where, "source.type", "push reads the hub store's push inbox: it needs the hub store "
                                                    "as its state (connectors.build(..., state=store))")
        if not connector_id:
            raise ConfigError(where, "id", "push needs the mapping's id: pushed records are filed under it")
        page_size = source.get("page_size", DEFAULT_PAGE_SIZE)
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
            raise ConfigError(where, "source.page_size", f"must be a whole number of at least 1, not {page_size!r}")
        self.source, self.secrets, self.state = source, secrets, state
        self.connector_id, self.page_size = connector_id, page_size

    # --- protocol -----------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        cursor = self._saved_cursor()
        after = _after_id(cursor, self.connector_id)
        waiting, seen_last = 0, after
        while waiting < COUNT_CAP:
            rows = self.state.pushed_records(self.connector_id, seen_last, self.page_size)
            if not rows:
                break
            waiting += len(rows)
            seen_last = rows[-1][0]
        count = f"more than {COUNT_CAP:,}" if waiting >= COUNT_CAP else f"{waiting:,}"
        since = f"after record {after}" if after else "in total"
        message = f"{count} pushed record(s) waiting for ingest {since} in the push inbox of {self.connector_id!r}"
        if not self.secrets.password:
            return False, (f"{message}; but the Connection {self.source.get('connection_id')!r} holds no key, "
                           "so the intake refuses every push (set the agency's key as its password)")
        return True, message

    def discover(self) -> list[str]:
        latest = self._latest()
        return sorted(field_paths(latest)) if latest is not None else []

    def read(self, cursor: str | None) -> Iterator[Page]:
        after = _after_id(cursor, self.connector_id)
        while True:
            rows = self.state.pushed_records(self.connector_id, after, self.page_size)
            if not rows:
                return
            after = rows[-1][0]
            yield Page([record for _, record in rows], str(after))
            if len(rows) < self.page_size:
                return

    # --- helpers ------------------------------------------------------------------------------
    def _saved_cursor(self) -> str | None:
        # The protocol does not promise a cursor; the hub store has one, and check() is more useful with it.
        get_cursor = getattr(self.state, "get_cursor", None)
        return get_cursor(self.connector_id) if callable(get_cursor) else None

    def _next(self, after: int) -> tuple[int, dict[str, Any]] | None:
        rows = self.state.pushed_records(self.connector_id, after, 1)
        return rows[0] if rows else None

    def _latest(self) -> dict[str, Any] | None:
        """The newest pushed record, found in O(log n) one-row reads (the inbox reads oldest first)."""
        found = self._next(0)
        if found is None:
            return None
        step, bound = 1024, None
        while bound is None:  # gallop until a point with nothing after it
            probe = found[0] + step
            later = self._next(probe)
            if later is None:
                bound = probe
            else:
                found, step = later, step * 2
        while bound - found[0] > 1:  # found exists; nothing lies after bound
            mid = (found[0] + bound) // 2
            later = self._next(mid)
            if later is None:
                bound = mid
            else:
                found = later
        last = self._next(found[0])
        return (last or found)[1]


def _after_id(cursor: str | None, connector_id: str) -> int:
    if cursor in (None, ""):
        return 0
    try:
        return int(cursor)
    except ValueError:
        raise ConfigError(f"connector {connector_id!r}", "cursor",
                          f"saved cursor {cursor!r} is not a push inbox id (a whole number)") from None
