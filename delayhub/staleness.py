"""Is a source stale? No new or changed record stored for longer than its mapping's ``stale_after``.

Computed from the hub store's job runs, so any caller (the ingest DAG, a report) gets the same
answer. A quiet spell starts at the last ingest run that stored something (or, before any did, at
the connector's first run) and ends when records arrive again; the operators are told once per
spell: the alert is recorded as a ``stale_alert`` job run, and only a spell with none is due one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import config
from .mapping import Mapping
from .store import HubStore

ALERT_JOB = "stale_alert"


@dataclass(frozen=True)
class Staleness:
    connector_id: str
    allowed: dt.timedelta  # the mapping's stale_after
    checked_at: dt.datetime
    watched_since: dt.datetime | None  # the connector's first ingest run
    last_new_at: dt.datetime | None  # the last ingest run that stored a new or changed record
    alerted_at: dt.datetime | None  # the last stale alert, whichever spell it was for

    @property
    def quiet_since(self) -> dt.datetime | None:
        return self.last_new_at or self.watched_since

    @property
    def quiet_for(self) -> dt.timedelta:
        return self.checked_at - self.quiet_since if self.quiet_since else dt.timedelta(0)

    @property
    def stale(self) -> bool:
        return self.quiet_since is not None and self.quiet_for > self.allowed

    @property
    def alert_due(self) -> bool:
        """Stale, and the operators have not been told about this quiet spell yet."""
        if not self.stale or self.quiet_since is None:
            return False
        return self.alerted_at is None or self.alerted_at < self.quiet_since


def check(store: HubStore, mapping: Mapping, now: dt.datetime | None = None) -> Staleness | None:
    """The source's staleness now; None when its mapping sets no ``stale_after``."""
    if mapping.stale_after is None:
        return None
    first, last_new, alerted = store.connector_activity(mapping.id)
    return Staleness(mapping.id, mapping.stale_after, now or config.now(), first, last_new, alerted)


def record_alert(store: HubStore, state: Staleness) -> None:
    """Remember that the operators were told, so this quiet spell gets no second alert."""
    with store.job(ALERT_JOB, state.connector_id) as job:
        job.stats["quiet_since"] = state.quiet_since.isoformat() if state.quiet_since else None
