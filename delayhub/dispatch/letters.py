"""Each notice's letters as PDFs: attached to its email, or put in the agency's print queue.

The official letter is Thai; an applicant who reads English also gets an English translation.
A letter is rendered once, from the facts pinned on the outbox row when the sweep queued it, with
its number and date given once (``HubStore.letter_number``), and archived (``delayhub.letters.archive``)
with its sha256 recorded on the letter's row: every later call, a retry included, returns the
archived bytes, so a template edited in between never changes a letter already sent.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import config
from ..errors import ConfigError, TemporaryDeliveryError
from ..letters import LetterArchiveError, LetterError, LetterRenderer, LetterSettings, build_context, load_settings
from ..letters.archive import archive_path, check_free, read_archived, sha256, write_archived
from ..messages import NoticeContext, notice_from_payload
from ..registry import Agency, Registry
from ..store import HubStore

LETTER_KINDS = ("delay", "result")


def print_queue_dir() -> Path:
    """Where printable letters wait to be printed and posted: one folder per department and day."""
    return Path(os.environ.get("DELAYHUB_PRINT_QUEUE") or config.var_dir() / "print")


class LetterMaker:
    def __init__(self, store: HubStore, registry: Registry) -> None:
        self.store, self.registry = store, registry
        self._settings: dict[str, LetterSettings] = {}

    @cached_property
    def renderer(self) -> LetterRenderer:  # built on first use: a run without letters pays nothing
        return LetterRenderer()

    def attachments(self, row: Any) -> list[tuple[str, bytes]]:
        """(file name, PDF) of each letter of a delay or result notice row with its pinned facts: the
        official Thai letter first, then the English translation when the applicant reads English.
        Empty for any other row."""
        if not row.payload or row.kind not in LETTER_KINDS:
            return []
        notice = notice_from_payload(row.payload)
        return self._letters(row, notice, ("th", "en") if notice.language == "en" else ("th",))

    def pdf(self, row: Any) -> tuple[str, bytes] | None:
        """(file name, PDF) of the official Thai letter alone; None for rows without letter facts."""
        if not row.payload or row.kind not in LETTER_KINDS:
            return None
        return self._letters(row, notice_from_payload(row.payload), ("th",))[0]

    def to_print_queue(self, row: Any) -> str:
        """Put the notice's letters in the print queue; returns the official letter's path (the
        delivery's proof). An English translation lies next to it, to be posted with it."""
        made = self.attachments(row)
        if not made:
            raise TemporaryDeliveryError("no letter facts on this notice")
        folder = print_queue_dir() / row.payload.get("department_code", "unknown") / config.today().isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        for name, pdf in made:
            (folder / name).write_bytes(pdf)
        return str(folder / made[0][0])

    def _letters(self, row: Any, notice: NoticeContext, languages: tuple[str, ...]) -> list[tuple[str, bytes]]:
        department_code = row.payload.get("department_code") or ""
        department = self.registry.agencies.get(department_code)
        if department is None:
            raise TemporaryDeliveryError(f"department {department_code!r} is not in the registry: cannot letter")
        running_no, day = self.store.letter_number(row.request_id, row.kind, row.sequence, department_code,
                                                   config.today())
        year = day.year + 543
        recorded = self.store.archived_letters(row.request_id, row.kind, row.sequence)
        out = []
        for language in languages:
            name = f"{department_code}-{year}-{running_no:05d}{'' if language == 'th' else '-' + language}.pdf"
            path = archive_path(department_code, year, name)
            try:
                known = recorded.get(language)
                pdf = read_archived(path, known[0]) if known else None
                if pdf is None:
                    pdf = self._render_and_archive(row, notice, department, language, running_no, day, path, known)
            except LetterArchiveError as exc:  # an operator restores the file; retried until then
                raise TemporaryDeliveryError(f"letter archive: {exc}") from exc
            except (LetterError, ConfigError) as exc:  # a missing font, a broken template or settings file
                raise TemporaryDeliveryError(f"letter could not be rendered: {exc}") from exc
            out.append((name, pdf))
        return out

    def _render_and_archive(self, row: Any, notice: NoticeContext, department: Agency, language: str,
                            running_no: int, day: dt.date, path: Path, known: tuple[str, str] | None) -> bytes:
        from ..survey.invite import request_survey_link  # here: the survey reaches the queue, which reaches here

        code = department.code
        if code not in self._settings:
            self._settings[code] = load_settings(code)
        settings = self._settings[code]
        # The postal address is pinned only on a letter that goes by post (the sweep's letter row): it is
        # printed in the addressee block and nowhere else (never logged; the archive keeps the PDF).
        ctx = build_context(notice, settings, department, running_no=running_no, letter_date=day, language=language,
                            division_code=row.payload.get("division_code"),
                            applicant_address=row.payload.get("applicant_address") or None,
                            survey_url=request_survey_link(row.request_id) if row.kind == "result" else "")
        pdf = self.renderer.render(row.kind, ctx, language)  # type: ignore[arg-type]
        if known is not None:  # recorded, but the file is gone: restore it only with the very same bytes
            if sha256(pdf) != known[0]:
                raise LetterArchiveError(
                    f"archived letter {path} is missing, and rendering it now gives other bytes than the "
                    f"ones sent (sha256 {known[0]}; the template or settings changed since): restore it "
                    f"from a backup")
            write_archived(path, pdf)
            return pdf
        check_free(path, pdf)
        digest = self.renderer.template_digest(row.kind, ctx, language, settings)  # type: ignore[arg-type]
        first, _ = self.store.record_archived_letter(row.request_id, row.kind, row.sequence, language,
                                                     sha256(pdf), digest)
        if first != sha256(pdf):  # another dispatcher archived this letter first: send its bytes
            theirs = read_archived(path, first)
            if theirs is None:
                raise LetterArchiveError(f"archived letter {path} is still being written by another dispatcher")
            return theirs
        if not path.exists():
            write_archived(path, pdf)
        return pdf
