"""Turn Airflow Connections into the plain settings the core takes. Secrets stay in Airflow."""

from __future__ import annotations

import os

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from connectors.base import Secrets
from delayhub.config import DispatchConfig, SmsConfig, SmtpConfig, dispatch_from_env
from delayhub.connections import base_url, env_name, secrets_from_fields
from delayhub.errors import ConfigError

SMTP_CONN_ID = "delayhub_smtp"
SMS_CONN_ID = "delayhub_sms"


def connector_secrets(conn_id: str | None) -> Secrets:
    """The Connection's fields as connector secrets; none for sources that need no Connection."""
    if not conn_id:
        return Secrets()
    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:  # a setting to fix, not a reason to retry
        raise ConfigError(f"connection {conn_id!r}", "", "is not defined: create it in Airflow (Admin → "
                          f"Connections) or set {env_name(conn_id)}") from None
    return secrets_from_fields({"host": conn.host, "port": conn.port, "schema": conn.schema, "login": conn.login,
                                "password": conn.password, "extra": conn.extra_dejson})


def _optional(conn_id: str):
    try:
        return BaseHook.get_connection(conn_id)
    except Exception:
        return None


def dispatch_config() -> DispatchConfig:
    """SMTP from Connection ``delayhub_smtp``, SMS from ``delayhub_sms``; the environment's
    defaults (the local sinks) when a Connection is not defined."""
    base = dispatch_from_env()
    smtp, sms = base.smtp, base.sms
    if (conn := _optional(SMTP_CONN_ID)) is not None:
        extra = conn.extra_dejson
        smtp = SmtpConfig(host=conn.host or smtp.host, port=conn.port or smtp.port, username=conn.login or None,
                          password=conn.password or None, start_tls=bool(extra.get("starttls", False)),
                          ca_file=extra.get("ca_file"),
                          sender=extra.get("from", smtp.sender))
    if (conn := _optional(SMS_CONN_ID)) is not None:
        path = conn.extra_dejson.get("path", "/sms")
        sms = SmsConfig(url=base_url(conn.host or "", conn.port, conn.schema) + path,
                        token=conn.password or None, sender=conn.extra_dejson.get("sender", sms.sender),
                        provider=conn.extra_dejson.get("provider", "json"), username=conn.login or None)
    return DispatchConfig(smtp=smtp, sms=sms, opdc_email=os.environ.get("DELAYHUB_OPDC_EMAIL", base.opdc_email),
                          max_attempts=base.max_attempts, tracking_url=base.tracking_url)
