"""Source adapters. None imports Airflow: each takes plain settings, secrets and, where it needs
one, the hub's connector state.

``build(source, secrets, state)`` turns a mapping's ``source`` block into a connector through
the one registry below (imported lazily, so one connector's missing driver breaks no other).
"""

from __future__ import annotations

import importlib
from typing import Any

from delayhub.errors import ConfigError

from .base import Connector, ConnectorState, Page, Reject, Secrets

REGISTRY: dict[str, str] = {
    "rest": "connectors.rest:RestConnector",
    "soap": "connectors.soap:SoapConnector",
    "odbc": "connectors.odbc:OdbcConnector",
    "files": "connectors.files:FileDropConnector",
    "push": "connectors.push:PushConnector",
}


def connector_class(kind: str) -> type:
    if kind not in REGISTRY:
        raise ConfigError("source", "type", f"'{kind}' is not a connector type (available: {', '.join(REGISTRY)})")
    module, name = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(module), name)


def build(source: dict[str, Any], secrets: Secrets, state: ConnectorState | None = None,
          connector_id: str = "") -> Connector:
    """A connector for a mapping's source. ``state`` (the hub store) is given to the connectors
    that keep some (file ledger, push inbox); ``connector_id`` is the mapping's id."""
    return connector_class(source.get("type", ""))(source, secrets, state=state, connector_id=connector_id)


__all__ = ["REGISTRY", "Connector", "ConnectorState", "Page", "Reject", "Secrets", "build", "connector_class"]
