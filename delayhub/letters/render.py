"""Letters as PDF: typst templates in ``templates/letters/`` filled with data, one compiler reused.

The templates receive the letter as JSON in ``sys.inputs.data`` and place its strings as text, so
agency or applicant text ("#set page(fill: red)") is never read as typst markup. Thai letters get
Thai digits and Buddhist-Era dates here, in Python, so every template sees them ready to print.

One ``typst.Compiler`` keeps the parsed templates, the loaded font and typst's caches between
letters instead of building a new typst world per letter (bench/letters.py measures both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Literal

import typst

from ..config import TIMEZONE, project_root
from ..errors import DelayhubError
from ..messages import format_date
from ..thai import to_arabic_digits, to_thai_digits
from ..tracking import display_code, tracking_link
from .context import FINISHED, LetterContext
from .qr import qr_svg
from .settings import LetterSettings

Kind = Literal["delay", "result"]
Language = Literal["th", "en"]
KINDS: tuple[Kind, ...] = ("delay", "result")
LANGUAGES: tuple[Language, ...] = ("th", "en")

FONT_PACKAGE = "fonts-tlwg-laksaman-ttf"
FONT_DIR = Path("/usr/share/fonts/truetype/tlwg")
FONT_FILE = "Laksaman.ttf"


class LetterError(DelayhubError):
    """A letter cannot be made: missing font, missing template, bad template, incomplete context."""


class LetterFontMissing(LetterError):
    pass


def templates_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_LETTER_TEMPLATES") or project_root() / "templates" / "letters")


def _date(day: dt.date | None, language: str) -> str | None:
    return format_date(day, language) if day is not None else None


def letter_data(kind: Kind, ctx: LetterContext, language: Language = "th") -> dict[str, Any]:
    """The JSON the template sees: every value a ready-to-print string (or list, bool, null)."""
    if kind not in KINDS:
        raise LetterError(f"letter kind must be one of {', '.join(KINDS)} (got {kind!r})")
    if language not in LANGUAGES:
        raise LetterError(f"letter language must be one of {', '.join(LANGUAGES)} (got {language!r})")
    if kind == "delay" and not (ctx.reason or "").strip():
        raise LetterError(f"request {ctx.request_no}: a delay letter needs the reason for the delay")
    if kind == "result" and (ctx.status not in FINISHED or ctx.completed_on is None):
        raise LetterError(f"request {ctx.request_no}: a result letter needs status {' or '.join(FINISHED)} "
                          f"and the completion date (got {ctx.status!r}, {ctx.completed_on})")
    # Every number in the letter's own digits, free text from back offices included: Thai digits in
    # Thai letters, Arabic ones in English. URLs and e-mail addresses are left alone.
    t = to_thai_digits if language == "th" else to_arabic_digits

    def opt(value: str | None) -> str | None:
        return t(value) if value and value.strip() else None

    letterhead = ctx.letterhead or tuple(x for x in (ctx.agency_name, ctx.agency_address) if x)
    return {
        "lang": language,
        "kind": kind,
        "reference": t(ctx.reference_no),
        "date": _date(ctx.letter_date, language),
        "letterhead": [t(line) for line in letterhead],
        "agency_name": t(ctx.agency_name),
        "agency_address": t(ctx.agency_address),
        "applicant_name": opt(ctx.applicant_name),
        "applicant_address": opt(ctx.applicant_address),
        "request_no": t(ctx.request_no),
        "submitted_on": _date(ctx.submitted_on, language),
        "process_name": t(ctx.process_name),
        "division": opt(ctx.division),
        "due_on": _date(ctx.due_on, language),
        "sequence": t(str(ctx.sequence)),
        "reason": opt(ctx.reason),
        "expected_completion": _date(ctx.expected_completion, language),
        "completed_on": _date(ctx.completed_on, language),
        "approved": ctx.status == "completed",
        "finished_late": bool(ctx.completed_on and ctx.due_on and ctx.completed_on > ctx.due_on),
        "result_note": opt(ctx.result_note),
        "late_days": t(str(ctx.late_days)) if ctx.late_days > 0 else None,
        "signatory_name": opt(ctx.signatory_name),
        "signatory_position": [t(line) for line in ctx.signatory_position],
        "owning_unit": t(ctx.owning_unit),
        "phone": opt(ctx.agency_phone),
        "fax": opt(ctx.fax),
        "email": ctx.email or None,
        "tracking_url": ctx.tracking_url or None,
        # Typed into a web form: Latin letters and Arabic digits in Thai letters too, like the URL.
        "tracking_code": display_code(ctx.tracking_code) if ctx.tracking_code else None,
        # The QR code of the tracking link with the number and code filled in, as SVG (typst reads it
        # from the JSON: the Python binding passes strings only, no files).
        "tracking_qr": qr_svg(tracking_link(ctx.tracking_url, ctx.request_no, ctx.tracking_code))
        if ctx.tracking_code and ctx.tracking_url else None,
        "survey_qr": qr_svg(ctx.survey_url) if ctx.survey_url else None,
        "emblem": None,  # set by the renderer once the file is found
    }


class LetterRenderer:
    """Renders letters to PDF bytes. Create once and reuse; safe to share between threads."""

    def __init__(self, templates: Path | None = None, font_dir: Path = FONT_DIR) -> None:
        if not (font_dir / FONT_FILE).is_file():
            raise LetterFontMissing(
                f"the letter font TLWG Laksaman ({font_dir / FONT_FILE}) is missing: install the Debian "
                f"package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}, or run scripts/setup.sh)")
        self.templates = (templates or templates_dir()).resolve()
        if not self.templates.is_dir():
            raise LetterError(f"letter templates folder {self.templates} does not exist")
        # Only the Laksaman folder: no system or typst-bundled fonts, so a letter looks the same on
        # every machine and a missing Thai glyph cannot fall back to some other font unnoticed.
        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(font_dir)])
        if not any(f.family == "Laksaman" for f in fonts.fonts()):
            raise LetterFontMissing(f"typst finds no Laksaman font in {font_dir}: reinstall {FONT_PACKAGE}")
        self._compiler = typst.Compiler(root=str(self.templates), font_paths=fonts, ignore_system_fonts=True)
        self._lock = threading.Lock()  # the compiler is one mutable world

    def template(self, kind: Kind, language: Language, department: str = "") -> Path:
        """``templates/letters/<DEPARTMENT>/<kind>.<lang>.typ`` if the agency has its own, else the shared one."""
        name = f"{kind}.{language}.typ"
        own = self.templates / department / name if department else None
        path = own if own is not None and own.is_file() else self.templates / name
        if not path.is_file():
            raise LetterError(f"letter template {path} is missing")
        return path

    def template_digest(self, kind: Kind, ctx: LetterContext, language: Language, settings: LetterSettings) -> str:
        """sha256 of what the letter is made from besides its facts: its template, the shared layout
        files (``_*.typ``), the emblem and the agency's letter settings. Kept with each archived letter,
        so one can tell which template version a letter sent was rendered from."""
        path = self.template(kind, language, ctx.department_code)
        files = [path, *sorted(self.templates.glob("_*.typ"))]
        if path.parent != self.templates:
            files += sorted(path.parent.glob("_*.typ"))
        if ctx.emblem and (self.templates / ctx.emblem).is_file():
            files.append(self.templates / ctx.emblem)
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.resolve().relative_to(self.templates).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
        digest.update(json.dumps(settings.raw, sort_keys=True, ensure_ascii=False, default=str).encode())
        return digest.hexdigest()

    def render(self, kind: Kind, ctx: LetterContext, language: Language = "th") -> bytes:
        """The letter as a one-page A4 PDF with the font embedded."""
        data = letter_data(kind, ctx, language)
        if ctx.emblem:
            emblem = (self.templates / ctx.emblem).resolve()
            if not emblem.is_file() or not emblem.is_relative_to(self.templates):
                raise LetterError(f"emblem {ctx.emblem} is not a file in {self.templates}")
            data["emblem"] = "/" + emblem.relative_to(self.templates).as_posix()
        path = self.template(kind, language, ctx.department_code)
        # The letter's own date as the PDF's creation time: the same letter gives the same bytes.
        stamp = int(dt.datetime.combine(ctx.letter_date, dt.time(), TIMEZONE).timestamp())
        inputs = {"data": json.dumps(data, ensure_ascii=False)}
        try:
            with self._lock:
                pdf = self._compiler.compile(input=str(path), format="pdf", sys_inputs=inputs, timestamp=stamp)
        except typst.TypstError as exc:
            raise LetterError(f"{path}: {exc.message}\n{exc.diagnostic}".rstrip()) from exc
        assert isinstance(pdf, bytes)
        return pdf
