"""The queue's scheduled work, as one function: ``python -m delayhub.queueing tick`` and the Airflow DAG
``queue_tick`` (every 5 minutes) both call ``run``.

In order: make each agency's slots up to its horizon with the settings and calendar as they are now;
close bookings on days that became days off (before anyone is reminded of them); release web and mobile
bookings not checked in within the grace period; hand today's unused afternoon web places to walk-ins;
queue the reminders due the working day before; scrub expired one-time codes from the outbox's texts.
Every step is safe to run twice or at once with another run (guarded updates, unique outbox keys).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from ..errors import ConfigError
from ..registry import Registry
from ..store import HubStore
from .booking import Queue
from .otp import Codes
from .reminders import close_days_off, send_reminders
from .settings import load_each

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    figures: dict[str, int]
    errors: list[ConfigError] = field(default_factory=list)  # settings files skipped this round


def tick(queue: Queue, codes: Codes | None = None, now: dt.datetime | None = None) -> dict[str, int]:
    """One round of the queue's work at ``now``; the figures of what it did."""
    now = now or queue.now()
    for agency in sorted(queue.settings):  # the booking horizon moves on even on a day nobody has visited yet
        queue.open(agency, now)
    done = {"closed": close_days_off(queue, now), "released": queue.release_no_shows(now),
            "handed_over": queue.hand_over(now), "reminded": send_reminders(queue, now)}
    if codes is not None:
        done["codes_scrubbed"] = codes.scrub(now)
    return done


def run(store_url: str | None = None) -> TickResult:
    """Open the hub store, read the settings and calendar as the files are now (a fresh process), and do
    one round. A broken settings file costs its own agency this round, not the others: it is logged and
    returned in ``errors`` (the command exits 1 and the DAG's task fails after the work, so someone looks)."""
    from ..web.queue_api import queue_key  # the key that signs the links in the SMS, as the web app's
    from ..web.secret import web_secret

    registry = Registry.load()
    settings, errors = load_each(registry)
    for error in errors:
        log.error("queue settings skipped this round: %s", error)
    key = queue_key(web_secret())
    store = HubStore.open(store_url)
    try:
        return TickResult(tick(Queue(store, registry, settings, key), Codes(store, key)), errors)
    finally:
        store.close()
