"""What each DAG task calls: open the store, call one core function, return its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

import connectors
from delayhub import config
from delayhub.calendar import default_calendar
from delayhub.dispatch import dispatch
from delayhub.ingest import ingest
from delayhub.mapping import load_all, load_mapping
from delayhub.ops_alerts import classify
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.sweep import sweep

from .alerts import flag_staleness
from .connections import connector_secrets, dispatch_config


def run_ingest(mapping_file: str) -> dict[str, Any]:
    """Read one agency's back office into the hub store, then check the source is not stale.

    A transient failure (unreachable, timeout, 5xx) is raised as it is, so Airflow retries it with
    backoff; a permanent one (credentials refused, a broken mapping or Connection) fails the task
    at once, since no retry can fix it.
    """
    try:
        return _ingest(Path(mapping_file))
    except Exception as exc:
        kind = classify(exc)
        if kind.retry:
            raise
        raise AirflowFailException(f"{kind.cause_en}; not retried: {exc}") from exc


def _ingest(mapping_file: Path) -> dict[str, Any]:
    mapping = load_mapping(mapping_file)
    registry = Registry.load()
    store = HubStore.open()
    try:
        connector = connectors.build(mapping.source, connector_secrets(mapping.source.get("connection_id")), store,
                                     mapping.id)
        figures = ingest(mapping, connector, store, registry)
        figures["stale"] = flag_staleness(store, mapping, registry)
        return figures
    finally:
        store.close()


def run_sweep() -> dict[str, Any]:
    mappings, _ = load_all()
    store = HubStore.open()
    try:
        return sweep(store, Registry.load(), default_calendar(), {m.id: m for m in mappings},
                     dispatch_config(), config.today())
    finally:
        store.close()


def run_housekeeping() -> dict[str, Any]:
    """Delete used desk form tokens, expired sessions and one-time codes, and old rate-limit windows."""
    from delayhub.housekeeping import housekeeping

    store = HubStore.open()
    try:
        return housekeeping(store)
    finally:
        store.close()


def run_dispatch() -> dict[str, Any]:
    store = HubStore.open()
    try:
        return dispatch(store, dispatch_config(), registry=Registry.load())
    finally:
        store.close()


def run_opdc_export() -> dict[str, Any]:
    """Yesterday's notices (Bangkok), for the OPDC, under $DELAYHUB_EXPORTS (default var/exports/opdc)."""
    import datetime as dt
    import os
    from pathlib import Path

    from delayhub.exports import write_opdc_export

    folder = Path(os.environ.get("DELAYHUB_EXPORTS") or config.var_dir() / "exports" / "opdc")
    store = HubStore.open()
    try:
        csv_path, json_path, count = write_opdc_export(store, config.today() - dt.timedelta(days=1), folder)
    finally:
        store.close()
    return {"notices": count, "csv": str(csv_path), "json": str(json_path)}


def run_queue_tick() -> dict[str, Any]:
    """The central queue's scheduled work (``delayhub.queueing.tick.run``, as ``python -m delayhub.queueing
    tick``). A broken settings file skips its agency: the others' work is done, then the task fails without
    retrying (only an edit fixes it) and the operators are alerted."""
    from delayhub.queueing.tick import run

    result = run()
    if result.errors:
        raise AirflowFailException("queue settings skipped: " + "; ".join(str(e) for e in result.errors))
    return result.figures
