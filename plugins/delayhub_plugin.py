"""delayhub's public endpoints inside the Airflow 3 API server.

    POST /intake/v1/<connector id>/batches      GET /intake/v1/health
    POST /sms-reports/sms/reports/<provider>     SMS gateways' delivery reports
    /delayhub/                                   the people's web application (lateness view, desk…)

Airflow gives routes mounted by a plugin no authentication of its own: the intake app checks
each agency's key itself. The key is the password of the Airflow Connection the agency's
mapping names, read per request with ``BaseHook.get_connection`` (so a rotated key takes
effect at once, and a missing Connection only refuses that agency's pushes). Importing this
file opens nothing: the hub store, the registry and mappings/ are read on the first request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException
from fastapi import FastAPI

from delayhub.dispatch.sms_reports import delivery_report_router
from delayhub.intake import create_app
from delayhub.store import HubStore
from delayhub.web.app import create_app as create_web_app
from delayhub.web.logsafe import ScrubScopeForAccessLog


def agency_secret(conn_id: str) -> str | None:
    """The agency's key: the Connection's password; None when the Connection does not exist.

    Other failures (the metadata database down) propagate: the intake answers 503, not 401.
    """
    try:
        return BaseHook.get_connection(conn_id).password or None
    except AirflowNotFoundException:
        return None


intake_app = create_app(store_factory=HubStore.open, secret_for=agency_secret)


def sms_report_secret(provider: str) -> str | None:
    """The token the SMS gateway signs its reports with: extra ``report_token`` of ``delayhub_sms``."""
    try:
        conn = BaseHook.get_connection("delayhub_sms")
    except AirflowNotFoundException:
        return None
    if conn.extra_dejson.get("provider", "json") != provider:
        return None
    return conn.extra_dejson.get("report_token") or None


def sms_report(provider_ref: str, status: str, detail: str | None) -> bool:
    store = HubStore.open()
    try:
        return store.record_sms_report(provider_ref, status, detail)
    finally:
        store.close()


sms_app = FastAPI(title="delayhub SMS delivery reports")
sms_app.include_router(delivery_report_router(sms_report, sms_report_secret))


# Signs in its own users (the OPDC's operators among them); every API-server host needs the same
# DELAYHUB_WEB_SECRET. No I/O here: the session key and the store are read on the first request.
web_app = create_web_app()
# The API server logs each request from its ASGI scope (not through uvicorn's logger): the tracking
# links' second factors and the link tokens are taken out of the scope before it writes the line.
web_app.add_middleware(ScrubScopeForAccessLog)


class DelayhubPlugin(AirflowPlugin):
    name = "delayhub"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": intake_app, "url_prefix": "/intake", "name": "delayhub intake"},
        {"app": sms_app, "url_prefix": "/sms-reports", "name": "delayhub SMS delivery reports"},
        {"app": web_app, "url_prefix": "/delayhub", "name": "delayhub web"},
    ]
