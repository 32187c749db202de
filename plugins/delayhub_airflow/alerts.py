"""Operator alerts from Airflow: a task that failed for good, a source gone quiet.

The words are the core's (``delayhub.ops_alerts``); this only gathers the facts from the task's
context and mails them with the SMTP settings of the ``delayhub_smtp`` Connection.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from delayhub import staleness
from delayhub.errors import ConfigError
from delayhub.mapping import Mapping, load_mapping
from delayhub.ops_alerts import failure_alert, send_alert, stale_alert
from delayhub.registry import Registry
from delayhub.store import HubStore

from .connections import dispatch_config

log = logging.getLogger(__name__)


def _registry() -> Registry | None:
    try:
        return Registry.load()
    except ConfigError as exc:  # the alert still goes out, with codes instead of names
        log.error("registry unreadable for the alert: %s", exc)
        return None


def on_task_failure(mapping_file: str | None, context: Any) -> None:
    """A task failed for good (retries used up, or a permanent error): tell the operators.

    Runs in the task's process as its ``on_failure_callback``; never raises (Airflow would only log it).
    """
    ti = context["ti"]
    try:
        mapping: Mapping | None = load_mapping(Path(mapping_file)) if mapping_file else None
    except ConfigError:
        mapping = None  # the broken file is the error being reported
    error = context.get("exception") or RuntimeError("the task ended without an error (killed or timed out)")
    try:
        link = ti.log_url
    except Exception:  # a link is a convenience; the alert matters more
        link = ""
    alert = failure_alert(error, job=ti.dag_id, mapping=mapping, registry=_registry(), tries=ti.try_number,
                          run_id=ti.run_id, link=link)
    if send_alert(alert, dispatch_config().smtp):
        log.info("operators alerted: %s", alert.subject)


def flag_staleness(store: HubStore, mapping: Mapping, registry: Registry | None) -> bool:
    """Log a warning while the source is stale, and alert the operators once per quiet spell."""
    state = staleness.check(store, mapping)
    if state is None or not state.stale:
        return False
    log.warning("%s is stale: nothing new or changed stored for %s (stale_after %s)", mapping.id,
                state.quiet_for, state.allowed)
    if state.alert_due and send_alert(stale_alert(state, mapping, registry), dispatch_config().smtp):
        staleness.record_alert(store, state)  # only once it is sent: a failed send is tried next run
    return True
