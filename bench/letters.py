"""Letters per second on one core: one LetterRenderer (one warm typst compiler) against the peer.

The peer renders the same letters the plain way, ``typst.compile(...)`` per letter: a fresh typst
world each time, so the templates are parsed and the fonts loaded again for every letter.
The process is pinned to one CPU and the rates are per CPU second, so other work on the machine
does not count against either. Both must give the same PDF bytes for the same letter.

Prints one JSON line. Usage: python bench/letters.py [N] (default 300; the peer renders N // 5).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import time

import typst

from delayhub.letters import FONT_DIR, LetterContext, LetterRenderer, build_context, letter_data, load_settings
from delayhub.messages import NoticeContext
from delayhub.registry import Registry
from delayhub.tracking import tracking_code

REASONS = (
    "อยู่ระหว่างรอผลการตรวจสอบสถานที่จากหน่วยงานที่เกี่ยวข้อง",
    "อยู่ระหว่างรอความเห็นจากคณะกรรมการพิจารณาคำขอ ซึ่งมีกำหนดประชุมครั้งถัดไปในเดือนหน้า",
    "เอกสารประกอบคำขอไม่ครบถ้วน และอยู่ระหว่างรอผู้ยื่นคำขอส่งเอกสารเพิ่มเติม ๒ รายการ",
    "อยู่ระหว่างการตรวจสอบข้อมูลกับฐานข้อมูลทะเบียนราษฎร์ของกรมการปกครอง",
)
NAMES = ("นายสมชาย ใจดี", "นางสาวพรทิพย์ วงศ์สวัสดิ์", "บริษัท สยามพัฒนา จำกัด", "นายณัฐวุฒิ ศรีสุข")


def contexts(n: int) -> list[LetterContext]:
    registry = Registry.load()
    settings = {code: load_settings(code) for code in ("MOC-DBD", "MOPH-FDA", "MIND-DIW")}
    divisions = {"MOC-DBD": "MOC-DBD-REG", "MOPH-FDA": "MOPH-FDA-FOOD", "MIND-DIW": "MIND-DIW-FLD"}
    out = []
    for i in range(n):
        code = list(settings)[i % len(settings)]
        division = registry.agencies.get(divisions[code])
        submitted = dt.date(2026, 8, 1) + dt.timedelta(days=i % 60)
        number = f"{code.split('-')[1]}-2569-{i:06d}"
        notice = NoticeContext(
            request_no=number, department=registry.agencies[code].name,
            division=division.name if division else "", process_name="การขอรับใบอนุญาตประกอบกิจการ",
            applicant_name=NAMES[i % len(NAMES)], submitted_on=submitted, due_on=submitted + dt.timedelta(days=45),
            kind="delay", sequence=1 + i % 5, reason=REASONS[i % len(REASONS)], status="in_progress",
            completed_on=None, late_days=i % 3, contact_phone=registry.agencies[code].phone,
            tracking_url="https://delayhub.go.th/track", tracking_code=tracking_code(code, number))
        out.append(build_context(notice, settings[code], registry.agencies[code], running_no=1000 + i,
                                 letter_date=dt.date(2026, 11, 24), division_code=divisions[code],
                                 expected_completion=None if i % 4 == 0 else dt.date(2026, 12, 15)))
    return out


def peer_render(renderer: LetterRenderer, ctx: LetterContext) -> bytes:
    data = letter_data("delay", ctx, "th")
    stamp = int(dt.datetime.combine(ctx.letter_date, dt.time(), dt.timezone(dt.timedelta(hours=7))).timestamp())
    pdf = typst.compile(str(renderer.template("delay", "th")), root=str(renderer.templates),
                        font_paths=[str(FONT_DIR)], ignore_system_fonts=True, format="pdf",
                        sys_inputs={"data": json.dumps(data, ensure_ascii=False)}, timestamp=stamp)
    assert isinstance(pdf, bytes)
    return pdf


def main(n: int = 300) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, typst's threads included
    letters = contexts(n)
    renderer = LetterRenderer()
    renderer.render("delay", dataclasses.replace(letters[0], request_no="warm-up"))  # first parse and font load
    t, wall = time.process_time(), time.perf_counter()
    ours = [renderer.render("delay", ctx) for ctx in letters]
    ours_s, wall_s = time.process_time() - t, time.perf_counter() - wall
    m = max(1, n // 5)
    t = time.process_time()
    peer = [peer_render(renderer, ctx) for ctx in letters[:m]]
    peer_s = time.process_time() - t
    agree = ours[:m] == peer and all(p.startswith(b"%PDF-") for p in ours)
    print(json.dumps({
        "bench": "letters", "letters": n, "letters_per_second": round(n / ours_s, 1),
        "wall_letters_per_second": round(n / wall_s, 1), "kb_per_letter": round(sum(map(len, ours)) / n / 1024, 1),
        "peer": "typst.compile per letter (fresh world: templates parsed and fonts loaded each time)",
        "peer_letters": m, "peer_letters_per_second": round(m / peer_s, 1), "agree": agree,
    }))
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
