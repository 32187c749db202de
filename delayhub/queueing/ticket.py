"""The walk-in's paper ticket: a PDF 80 mm wide for the kiosk's thermal printer, made with typst from
``templates/tickets/ticket.typ`` (the letters' engine and font: TLWG Laksaman, whose text layer
``pdftotext -raw`` reads back exactly). The QR code opens the booking's page on a phone, to follow the
queue and leave a number for the SMS; a second, smaller one opens the survey once the visit is served."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import typst

from ..config import TIMEZONE, project_root
from ..letters.qr import qr_svg
from ..letters.render import FONT_DIR, FONT_FILE, FONT_PACKAGE, LetterFontMissing
from ..thai import format_thai_date

TEMPLATE = "ticket.typ"


@dataclass(frozen=True)
class TicketText:
    """What the ticket says, already in the booker's language."""

    lang: str
    agency: str
    service: str
    queue_no: str
    counter: str
    day: dt.date
    slot: str  # "09:00–09:30"
    ahead: str
    link: str
    qr_caption: str
    wait: str
    issued_at: dt.datetime
    survey_link: str = ""  # the survey's derived link (survey.invite.ticket_token); none: no second QR code
    survey_caption: str = ""


_LABELS = {
    "th": {"number_label": "หมายเลขคิว", "counter_label": "ช่องบริการ", "date_label": "วันที่", "time_label": "เวลา",
           "issued": "ออกบัตร {at} น."},
    "en": {"number_label": "Queue number", "counter_label": "Counter", "date_label": "Date", "time_label": "Time",
           "issued": "Issued {at}"},
}


def ticket_data(t: TicketText) -> dict[str, str]:
    labels = _LABELS[t.lang]
    date = format_thai_date(t.day, thai_digits=False) if t.lang == "th" else f"{t.day.day} {t.day:%B %Y}"
    issued = f"{t.issued_at.astimezone(TIMEZONE):%H:%M}"
    return {"lang": t.lang, "agency": t.agency, "service": t.service, "queue_no": t.queue_no, "counter": t.counter,
            "date": date, "time": t.slot, "ahead": t.ahead, "link": t.link, "qr": qr_svg(t.link),
            "qr_caption": t.qr_caption, "wait": t.wait, **{k: v for k, v in labels.items() if k != "issued"},
            "issued": labels["issued"].format(at=issued), "survey_link": t.survey_link,
            "survey_qr": qr_svg(t.survey_link) if t.survey_link else "", "survey_caption": t.survey_caption}


def templates_dir() -> Path:
    return Path(os.environ.get("DELAYHUB_TICKET_TEMPLATES") or project_root() / "templates" / "tickets")


class TicketPrinter:
    """Renders tickets to PDF bytes; one typst compiler reused (create once, share between threads)."""

    def __init__(self, templates: Path | None = None, font_dir: Path = FONT_DIR) -> None:
        if not (font_dir / FONT_FILE).is_file():
            raise LetterFontMissing(f"the ticket font TLWG Laksaman ({font_dir / FONT_FILE}) is missing: install the "
                                    f"Debian package {FONT_PACKAGE}")
        self.templates = (templates or templates_dir()).resolve()
        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(font_dir)])
        self._compiler = typst.Compiler(root=str(self.templates), font_paths=fonts, ignore_system_fonts=True)
        self._lock = threading.Lock()

    def render(self, ticket: TicketText) -> bytes:
        inputs = {"data": json.dumps(ticket_data(ticket), ensure_ascii=False)}
        stamp = int(ticket.issued_at.timestamp())
        with self._lock:
            pdf = self._compiler.compile(input=str(self.templates / TEMPLATE), format="pdf", sys_inputs=inputs,
                                         timestamp=stamp)
        assert isinstance(pdf, bytes)
        return pdf
