"""The letter archive: every letter PDF as it was first rendered, kept for good.

A letter is a legal act, so the PDF sent must be kept and a retry must send the very same bytes,
even if the template or the agency's settings were edited in between. Each PDF is written once to
``<archive>/<DEPARTMENT>/<BE year>/<file name>`` (``var/letters/`` unless ``DELAYHUB_LETTER_ARCHIVE``
says otherwise); its sha256 is recorded in the hub store, and every later read is checked against it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from .. import config
from .render import LetterError


class LetterArchiveError(LetterError):
    """An archived letter is missing, changed, or would be overwritten: names the file."""


def archive_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_LETTER_ARCHIVE") or config.var_dir() / "letters")


def archive_path(department: str, year_be: int, name: str) -> Path:
    return archive_dir() / department / str(year_be) / name


def sha256(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()


def read_archived(path: Path, recorded: str) -> bytes | None:
    """The archived PDF, checked against the sha256 recorded when it was first rendered; None when
    the file is not there (the caller may restore it if it can render the very same bytes)."""
    try:
        pdf = path.read_bytes()
    except FileNotFoundError:
        return None
    found = sha256(pdf)
    if found != recorded:
        raise LetterArchiveError(
            f"archived letter {path} does not match the sha256 recorded when it was first rendered "
            f"(recorded {recorded}, file has {found}): it was changed after it was sent; restore it "
            f"from a backup, it is not sent again as it is")
    return pdf


def check_free(path: Path, pdf: bytes) -> None:
    """Refuse to put a letter where the archive already holds a different one that the hub store does
    not know (a store restored from an older backup would number letters again)."""
    if path.exists() and sha256(path.read_bytes()) != sha256(pdf):
        raise LetterArchiveError(
            f"archived letter {path} already exists with other content that the hub store has no record "
            f"of (was the store restored from an older backup?); it is not overwritten: move it aside "
            f"after checking it")


def write_archived(path: Path, pdf: bytes) -> None:
    """Write the PDF whole or not at all: a reader never sees half a letter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with tmp.open("xb") as fh:
        fh.write(pdf)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
