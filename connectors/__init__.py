"""Source adapters. None imports Airflow: each takes plain settings and secrets.

``build(source, secrets)`` turns a mapping's ``source`` block into a connector through the
one registry below.
"""

from __future__ import annotations

from typing import Any

from delayhub.errors import ConfigError

from .base import Connector, Page, Secrets
from .rest import RestConnector

REGISTRY: dict[str, type[Connector]] = {"rest": RestConnector}


def build(source: dict[str, Any], secrets: Secrets) -> Connector:
    kind = source.get("type")
    if kind not in REGISTRY:
        raise ConfigError("source", "type", f"'{kind}' is not a connector type (available: {', '.join(REGISTRY)})")
    return REGISTRY[kind](source, secrets)


__all__ = ["REGISTRY", "Connector", "Page", "Secrets", "build"]
