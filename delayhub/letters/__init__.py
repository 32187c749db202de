"""Printable letters: the official Thai external letter (หนังสือภายนอก) for delay and result notices.

    renderer = LetterRenderer()                      # once per process: it keeps the compiler warm
    settings = load_settings("MOC-DBD")              # data/letters/MOC-DBD.yaml over default.yaml
    ctx = build_context(notice, settings, registry.agencies["MOC-DBD"], running_no=1234,
                        letter_date=today, division_code=row.division)
    pdf = renderer.render("delay", ctx, "th")         # bytes

Templates: ``templates/letters/{delay,result}.{th,en}.typ`` (shared layout in ``_letter.typ``).
Each letter sent is kept in the archive (``archive.py``); ``dispatch/letters.py`` reads it back.
"""

from .archive import LetterArchiveError, archive_dir, archive_path
from .context import LetterContext, build_context, reference_number
from .render import (
    FONT_DIR,
    FONT_PACKAGE,
    LetterError,
    LetterFontMissing,
    LetterRenderer,
    letter_data,
    templates_dir,
)
from .settings import LetterSettings, letters_dir, load_settings

__all__ = [
    "FONT_DIR", "FONT_PACKAGE", "LetterArchiveError", "LetterContext", "LetterError", "LetterFontMissing",
    "LetterRenderer", "LetterSettings", "archive_dir", "archive_path", "build_context", "letter_data",
    "letters_dir", "load_settings", "reference_number", "templates_dir",
]
