"""Connector secrets without a running Airflow: the same ``AIRFLOW_CONN_<ID>`` environment
variables Airflow reads (JSON or URI form), for the onboarding commands and the push intake
when it runs on its own. Inside Airflow the plugin reads real Connections instead."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.base import Secrets

from .errors import ConfigError


def env_name(conn_id: str) -> str:
    return f"AIRFLOW_CONN_{conn_id.upper()}"


def connection_fields(conn_id: str) -> dict[str, Any]:
    raw = os.environ.get(env_name(conn_id))
    if raw is None:
        raise ConfigError(f"connection {conn_id!r}", "", f"is not defined: set {env_name(conn_id)} "
                          "(JSON like Airflow's, or a URI) or create it in Airflow")
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(env_name(conn_id), "", f"is not valid JSON: {exc}") from None
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return {**data, "extra": extra}
    parts = urlsplit(raw)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    return {"conn_type": parts.scheme.replace("-", "_"), "host": unquote(parts.hostname or ""),
            "port": parts.port, "login": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "schema": unquote(parts.path.lstrip("/")) or None, "extra": extra}


def secrets_from_env(conn_id: str | None) -> Secrets:
    return secrets_from_fields(connection_fields(conn_id)) if conn_id else Secrets()


def base_url(host: str, port: int | None, scheme: str | None) -> str:
    """``http://host:port`` from a Connection; the schema field is the scheme when it is http(s)."""
    if host.startswith(("http://", "https://")):
        return host if not port else f"{host.rstrip('/')}:{port}"
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}" + (f":{port}" if port else "")


def secrets_from_fields(f: dict[str, Any]) -> Secrets:
    """Secrets from a Connection's fields (host, port, schema, login, password, extra)."""
    host, port = f.get("host") or "", f.get("port")
    return Secrets(base_url=base_url(host, port, f.get("schema")) if host else "", login=f.get("login"),
                   password=f.get("password"), extra=f.get("extra") or {}, host=host or None,
                   port=int(port) if port else None, schema=f.get("schema"))
