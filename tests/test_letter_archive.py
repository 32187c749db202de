"""The letter archive: a letter sent is kept as rendered, and a retry sends the very same bytes even
after its template or the agency's settings were edited. Real typst letters, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from test_letters import lines, pdftotext
from test_sweep import standard

from delayhub.calendar import ThaiCalendar
from delayhub.config import DispatchConfig
from delayhub.dispatch.letters import LetterMaker
from delayhub.errors import TemporaryDeliveryError
from delayhub.mapping import load_all
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import Letter, Outbox
from delayhub.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
SUBMITTED, TODAY = dt.date(2026, 11, 2), dt.date(2026, 11, 25)
SIGNATORY, NEW_SIGNATORY = "นางสาวพิมพ์ชนก ศรีวัฒนากุล", "นายวีระ ทองดี"
CLOSING, NEW_CLOSING = "จึงเรียนมาเพื่อโปรดทราบ", "จึงเรียนมาเพื่อโปรดทราบและดำเนินการ"


@pytest.fixture
def editable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Copies of the letter templates and settings that a test may edit, as an operator would."""
    templates, settings = tmp_path / "templates", tmp_path / "letters"
    shutil.copytree(ROOT / "templates" / "letters", templates)
    shutil.copytree(ROOT / "data" / "letters", settings)
    monkeypatch.setenv("DELAYHUB_LETTER_TEMPLATES", str(templates))
    monkeypatch.setenv("DELAYHUB_LETTERS", str(settings))
    return templates, settings


def edit(path: Path, old: str, new: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert old in content
    path.write_text(content.replace(old, new), encoding="utf-8")


def queued(store: HubStore, monkeypatch: pytest.MonkeyPatch, language: str | None = None) -> list[Outbox]:
    """An overdue DBD request stored on SUBMITTED and swept on TODAY: its delay notices' email rows."""
    rec = standard("ทบ.2569/00077")
    if language:
        rec["applicant"]["language"] = language
    monkeypatch.setenv("DELAYHUB_TODAY", SUBMITTED.isoformat())
    store.upsert_requests([rec])
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    sweep(store, Registry.load(), ThaiCalendar.load(), {m.id: m for m in load_all()[0]}, DispatchConfig(), TODAY)
    with store.session() as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.channel == "email").order_by(Outbox.sequence)))
    assert len(rows) >= 2, "the request is overdue by more than a week: two delay notices at least"
    return rows


def letter_row(store: HubStore, row: Outbox) -> Letter:
    with store.session() as s:
        return s.scalars(select(Letter).where(Letter.request_id == row.request_id, Letter.kind == row.kind,
                                              Letter.sequence == row.sequence)).one()


def sha(pdf: bytes) -> str:
    return hashlib.sha256(pdf).hexdigest()


def test_a_retry_after_the_template_and_settings_changed_sends_the_same_bytes(
        store: HubStore, editable: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = queued(store, monkeypatch)[:2]
    [(name, sent)] = LetterMaker(store, Registry.load()).attachments(first)

    archived = tmp_path / "var" / "letters" / "MOC-DBD" / "2569" / name
    assert name == "MOC-DBD-2569-00001.pdf" and archived.read_bytes() == sent
    letter = letter_row(store, first)
    assert letter.sha256 == sha(sent) and re.fullmatch("[0-9a-f]{64}", letter.template_digest or "")
    assert letter.sha256_en is None

    templates, settings = editable
    edit(templates / "delay.th.typ", CLOSING, NEW_CLOSING)
    edit(settings / "MOC-DBD.yaml", SIGNATORY, NEW_SIGNATORY)
    maker = LetterMaker(store, Registry.load())  # a later dispatch run

    assert maker.attachments(first) == [(name, sent)]
    assert maker.pdf(first) == (name, sent)
    assert letter_row(store, first).sha256 == sha(sent)
    text_sent = pdftotext(sent, tmp_path)
    assert f"({SIGNATORY})" in lines(text_sent) and NEW_CLOSING not in text_sent
    # the edits were real: a notice lettered after them has them, and another template digest
    [(_, later)] = maker.attachments(second)
    text_later = pdftotext(later, tmp_path)
    assert f"({NEW_SIGNATORY})" in lines(text_later) and NEW_CLOSING in text_later
    assert letter_row(store, second).template_digest != letter.template_digest


def test_the_english_translation_is_archived_and_pinned_too(
        store: HubStore, editable: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    row = queued(store, monkeypatch, language="en")[0]
    sent = LetterMaker(store, Registry.load()).attachments(row)
    assert [name for name, _ in sent] == ["MOC-DBD-2569-00001.pdf", "MOC-DBD-2569-00001-en.pdf"]
    letter = letter_row(store, row)
    assert (letter.sha256, letter.sha256_en) == (sha(sent[0][1]), sha(sent[1][1]))
    assert letter.template_digest and letter.template_digest_en
    assert letter.template_digest != letter.template_digest_en  # each from its own template

    edit(editable[0] / "delay.en.typ", "Please be informed accordingly.", "Kind regards.")
    assert LetterMaker(store, Registry.load()).attachments(row) == sent
    assert "Please be informed accordingly." in pdftotext(sent[1][1], tmp_path)


def test_a_tampered_archive_file_is_reported_by_name_and_not_sent(
        store: HubStore, editable: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    row = queued(store, monkeypatch)[0]
    [(name, sent)] = LetterMaker(store, Registry.load()).attachments(row)
    archived = tmp_path / "var" / "letters" / "MOC-DBD" / "2569" / name
    archived.write_bytes(sent.replace(b"%%EOF", b"%%EOF\n% changed"))

    with pytest.raises(TemporaryDeliveryError) as caught:
        LetterMaker(store, Registry.load()).attachments(row)

    message = str(caught.value)
    assert str(archived) in message
    assert "does not match the sha256 recorded" in message and sha(sent) in message
    assert archived.read_bytes() != sent, "the evidence is left as found"


def test_a_lost_archive_file_is_restored_only_when_it_renders_identically(
        store: HubStore, editable: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    row = queued(store, monkeypatch)[0]
    [(name, sent)] = LetterMaker(store, Registry.load()).attachments(row)
    archived = tmp_path / "var" / "letters" / "MOC-DBD" / "2569" / name

    archived.unlink()
    assert LetterMaker(store, Registry.load()).attachments(row) == [(name, sent)]
    assert archived.read_bytes() == sent

    archived.unlink()
    edit(editable[0] / "delay.th.typ", CLOSING, NEW_CLOSING)
    with pytest.raises(TemporaryDeliveryError, match=rf"archived letter {re.escape(str(archived))} is missing"):
        LetterMaker(store, Registry.load()).attachments(row)
    assert not archived.exists(), "a different letter is never put in its place"


def test_an_unrecorded_letter_in_the_archive_is_never_overwritten(
        store: HubStore, editable: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DELAYHUB_LETTER_ARCHIVE", str(tmp_path / "archive"))
    row = queued(store, monkeypatch)[0]
    earlier = tmp_path / "archive" / "MOC-DBD" / "2569" / "MOC-DBD-2569-00001.pdf"
    earlier.parent.mkdir(parents=True)
    earlier.write_bytes(b"%PDF-1.7 a letter the hub store no longer knows\n%%EOF")  # e.g. a store restored

    with pytest.raises(TemporaryDeliveryError, match="already exists with other content"):
        LetterMaker(store, Registry.load()).attachments(row)

    assert earlier.read_bytes().startswith(b"%PDF-1.7 a letter the hub store no longer knows")
    assert letter_row(store, row).sha256 is None


def test_letters_numbered_before_the_archive_get_archived_on_their_next_render(
        store_url: str, old_store: Callable[[str], int]) -> None:
    rid = old_store("0005")
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO letters (request_id, kind, sequence, department, year_be, running_no,"
                          " letter_date) VALUES (:r, 'delay', 1, 'MOC-DBD', 2569, 7, '2026-11-24')"), {"r": rid})
    engine.dispose()
    hub = HubStore.open(store_url)  # upgrades to head
    try:
        assert hub.letter_number(rid, "delay", 1, "MOC-DBD", TODAY) == (7, dt.date(2026, 11, 24))
        assert hub.archived_letters(rid, "delay", 1) == {}
        assert hub.record_archived_letter(rid, "delay", 1, "th", "a" * 64, "b" * 64) == ("a" * 64, "b" * 64)
        # recorded once: a second dispatcher's digest does not replace the first
        assert hub.record_archived_letter(rid, "delay", 1, "th", "c" * 64, "d" * 64) == ("a" * 64, "b" * 64)
        assert hub.archived_letters(rid, "delay", 1) == {"th": ("a" * 64, "b" * 64)}
    finally:
        hub.close()
