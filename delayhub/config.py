"""Where things live and which services to use, read from the environment.

Secrets (SMTP password, SMS token, back-office keys) never come from here in production:
Airflow Connections hold them and the adapters in ``plugins/`` pass them in. The environment
values below are the embedded default and what tests set.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

PACKAGE_DIR = Path(__file__).resolve().parent
TIMEZONE = ZoneInfo("Asia/Bangkok")


def project_root() -> Path:
    return Path(os.environ.get("DELAYHUB_ROOT") or PACKAGE_DIR.parent)


def var_dir() -> Path:
    """The git-ignored working folder: hub store, Airflow home, demo mailboxes."""
    return Path(os.environ.get("DELAYHUB_VAR") or project_root() / "var")


def database_url() -> str:
    url = os.environ.get("DELAYHUB_DATABASE_URL")
    if url:
        return url
    path = var_dir() / "delayhub.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def db_pool_size() -> int:
    """Connections a process keeps open to a server database (and as many more at a peak)."""
    return int(os.environ.get("DELAYHUB_DB_POOL_SIZE") or 20)


def mappings_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_MAPPINGS") or project_root() / "mappings")


def schemas_dir() -> Path:
    return project_root() / "schemas"


def registry_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_REGISTRY") or project_root() / "data" / "registry")


def today() -> dt.date:
    """Today in Bangkok; ``DELAYHUB_TODAY`` (ISO date) pins it for replays and tests."""
    pinned = os.environ.get("DELAYHUB_TODAY")
    if pinned:
        return dt.date.fromisoformat(pinned)
    return dt.datetime.now(TIMEZONE).date()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def pii_key() -> bytes:
    """Key for hashing national IDs. The built-in value is for the embedded demo only."""
    return os.environ.get("DELAYHUB_PII_KEY", "delayhub-demo-only-key").encode()


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 8025
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    start_tls: bool = False
    ca_file: str | None = None  # a private CA for the mail server's certificate (else the system's)
    sender: str = "delayhub <no-reply@delayhub.go.th>"
    timeout: float = 30.0


@dataclass(frozen=True)
class SmsConfig:
    url: str = "http://127.0.0.1:8026/sms"
    token: str | None = field(default=None, repr=False)  # bearer token, or the form gateway's password
    sender: str = "DELAYHUB"
    timeout: float = 15.0
    provider: str = "json"  # json | form (delayhub.dispatch.sms_providers)
    username: str | None = None  # the form gateway's account name


@dataclass(frozen=True)
class DispatchConfig:
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    opdc_email: str = "section10@opdc.go.th"
    max_attempts: int = 5
    retry_base: dt.timedelta = dt.timedelta(minutes=1)  # first retry after about this long, ×4 each time
    tracking_url: str = "https://delayhub.go.th/track"


def dispatch_from_env() -> DispatchConfig:
    env = os.environ
    return DispatchConfig(
        smtp=SmtpConfig(
            host=env.get("DELAYHUB_SMTP_HOST", "127.0.0.1"),
            port=int(env.get("DELAYHUB_SMTP_PORT", "8025")),
            username=env.get("DELAYHUB_SMTP_USER") or None,
            password=env.get("DELAYHUB_SMTP_PASSWORD") or None,
            start_tls=env.get("DELAYHUB_SMTP_STARTTLS", "") == "1",
        ),
        sms=SmsConfig(
            url=env.get("DELAYHUB_SMS_URL", "http://127.0.0.1:8026/sms"),
            token=env.get("DELAYHUB_SMS_TOKEN") or None,
        ),
        opdc_email=env.get("DELAYHUB_OPDC_EMAIL", "section10@opdc.go.th"),
        retry_base=dt.timedelta(seconds=float(env.get("DELAYHUB_RETRY_BASE_SECONDS", "60"))),
        max_attempts=int(env.get("DELAYHUB_MAX_ATTEMPTS", "5")),
        tracking_url=env.get("DELAYHUB_TRACKING_URL", "https://delayhub.go.th/track"),
    )
