"""The key that signs session cookies: ``DELAYHUB_WEB_SECRET``, else one made for this install.

Without the variable, the first start writes a random key to ``var/web-secret`` (mode 0600) and
every later start, and every other process on this machine, reads the same file. Several hosts
behind one address must share ``DELAYHUB_WEB_SECRET`` instead, or a session from one host is
refused by the next.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .. import config
from ..errors import ConfigError

ENV = "DELAYHUB_WEB_SECRET"
MIN_LENGTH = 32


def secret_file() -> Path:
    return config.var_dir() / "web-secret"


def web_secret() -> str:
    value = os.environ.get(ENV, "").strip()
    if value:
        if len(value) < MIN_LENGTH:
            raise ConfigError(ENV, "", f"is {len(value)} characters long; use at least {MIN_LENGTH} random "
                                       "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return value
    path = secret_file()
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a whole key under a temporary name, then link it into place: two processes starting
    # at once both end up with the key that won the link, never a half-written one.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    key = _read(path)
    if not key:
        raise ConfigError(str(path), "", f"is empty; delete it to make a new key, or set {ENV}")
    return key


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None
