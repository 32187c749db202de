"""One ingest run: read a back office from its cursor, normalise, store, quarantine, move on."""

from __future__ import annotations

import logging
from typing import Any

from connectors.base import Connector

from . import config
from .cursors import shift_back
from .mapping import Mapping
from .normalise import checksum, normalise
from .registry import Registry
from .store import HubStore
from .store.repo import QuarantineEntry

log = logging.getLogger(__name__)


def ingest(mapping: Mapping, connector: Connector, store: HubStore, registry: Registry) -> dict[str, Any]:
    """Returns the run's figures. The cursor is saved only after every page is stored, so a
    failure half-way re-reads from the old cursor next time (upserts make that harmless)."""
    with store.job("ingest", mapping.id) as job:
        for key in ("read", "stored", "inserted", "updated", "unchanged", "quarantined"):
            job.add(key, 0)
        cursor = store.get_cursor(mapping.id)
        new_cursor = cursor
        # Re-read a window behind the cursor: rows committed late under an older timestamp are
        # caught, and those read before come back unchanged (same checksum) and cost nothing.
        for page in connector.read(shift_back(cursor, mapping.lookback)):
            fetched_at = config.now()
            good, bad = [], []
            for reject in page.rejects:
                bad.append(QuarantineEntry(mapping.id, reject.source_id, reject.field, reject.reason, reject.raw,
                                           checksum(reject.raw)))
                job.add("rejected_whole")
            for raw in page.records:
                outcome = normalise(raw, mapping, registry, fetched_at)
                if outcome.request is not None:
                    good.append(outcome.request)
                    continue
                bad.extend(QuarantineEntry(mapping.id, outcome.record_id, p.field, p.reason, raw, outcome.checksum)
                           for p in outcome.problems or [])
                job.add("quarantined")
            stats = store.upsert_requests(good)
            store.quarantine(bad, job.id)
            job.add("read", len(page.records))
            job.add("stored", stats.inserted + stats.updated)
            job.add("inserted", stats.inserted)
            job.add("updated", stats.updated)
            job.add("unchanged", stats.unchanged)
            job.add("status_changes", stats.status_changes)
            if page.ack is not None:
                page.ack()  # only now that the page is stored
            new_cursor = page.cursor
        if cursor is not None and new_cursor is not None and new_cursor < cursor:
            new_cursor = cursor  # a look-back read that found nothing newer never moves the cursor back
        if new_cursor != cursor:
            store.set_cursor(mapping.id, new_cursor)
        job.stats["cursor"] = new_cursor
        log.info("ingest %s: %s", mapping.id, job.stats)  # counts only: no personal data
        return dict(job.stats)
