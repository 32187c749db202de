"""Each notice's letter as a PDF: attached to its email, or put in the agency's print queue.

The letter is rendered from the facts pinned on the outbox row when the sweep queued it, with
its number and date given once (``HubStore.letter_number``), so rendering it again later gives
the same letter.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import config
from ..errors import TemporaryDeliveryError
from ..letters import LetterError, LetterRenderer, build_context, load_settings
from ..messages import notice_from_payload
from ..registry import Registry
from ..store import HubStore


def print_queue_dir() -> Path:
    """Where printable letters wait to be printed and posted: one folder per department and day."""
    return Path(os.environ.get("DELAYHUB_PRINT_QUEUE") or config.var_dir() / "print")


class LetterMaker:
    def __init__(self, store: HubStore, registry: Registry) -> None:
        self.store, self.registry = store, registry
        self._settings: dict[str, Any] = {}

    @cached_property
    def renderer(self) -> LetterRenderer:  # built on first use: a run without letters pays nothing
        return LetterRenderer()

    def pdf(self, row: Any) -> tuple[str, bytes] | None:
        """(file name, PDF) for a delay or result notice row with its pinned facts; None otherwise."""
        if not row.payload or row.kind not in ("delay", "result"):
            return None
        notice = notice_from_payload(row.payload)
        department_code = row.payload.get("department_code") or ""
        department = self.registry.agencies.get(department_code)
        if department is None:
            raise TemporaryDeliveryError(f"department {department_code!r} is not in the registry: cannot letter")
        if department_code not in self._settings:
            self._settings[department_code] = load_settings(department_code)
        running_no, day = self.store.letter_number(row.request_id, row.kind, row.sequence, department_code,
                                                   config.today())
        try:
            ctx = build_context(notice, self._settings[department_code], department, running_no=running_no,
                                letter_date=day, division_code=row.payload.get("division_code"))
            pdf = self.renderer.render(row.kind, ctx, "th")
        except LetterError as exc:  # a missing font or a broken template: fixable, so retry
            raise TemporaryDeliveryError(f"letter could not be rendered: {exc}") from exc
        return f"{department_code}-{day.year + 543}-{running_no:05d}.pdf", pdf

    def to_print_queue(self, row: Any) -> str:
        """Put the letter in the print queue; returns its path (the delivery's proof)."""
        made = self.pdf(row)
        if made is None:
            raise TemporaryDeliveryError("no letter facts on this notice")
        name, pdf = made
        folder = print_queue_dir() / row.payload.get("department_code", "unknown") / config.today().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(pdf)
        return str(path)
