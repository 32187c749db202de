"""Section 10 as a table: due dates and notices on the real 2025–2027 Thai government calendars.

Every expected value below was worked out by hand from the day-off lists that
``ThaiCalendar.load()`` gives (holidays.Thailand public + government, plus the YAML file) and
from the rules in the duedates / notices docstrings and DESIGN.md — never by calling the code.

Days off used here, besides Saturdays and Sundays:

2024: Mon 30 Dec (Cabinet special), Tue 31 Dec.
2025: Wed 1 Jan; Wed 12 Feb (Makha Bucha); Mon 7 Apr (substitution for Chakri Day, Sun 6);
      Mon 14, Tue 15 Apr (Songkran; Sun 13 too) and Wed 16 Apr (substitution for Sun 13);
      Thu 1 May; Mon 5 May (substitution for Coronation Day, Sun 4); Fri 9 May (Ploughing);
      Mon 12 May (substitution for Visakha Bucha, Sun 11); Mon 2 Jun (Cabinet special);
      Tue 3 Jun (Queen); Thu 10 Jul (Asarnha Bucha); Fri 11 Jul (Buddhist Lent); Mon 28 Jul
      (King); Mon 11 Aug (Cabinet special); Tue 12 Aug (Mother's Day); Mon 13 Oct; Thu 23 Oct;
      Fri 5 Dec; Wed 10 Dec; Wed 31 Dec.
2026: Thu 1 Jan; Fri 2 Jan (Cabinet special); Tue 3 Mar (Makha Bucha); Mon 6 Apr (Chakri);
      Mon 13 – Wed 15 Apr (Songkran); Fri 1 May; Mon 4 May; Wed 13 May (Ploughing);
      Mon 1 Jun (substitution for Visakha Bucha, Sun 31 May); Wed 3 Jun (Queen); Tue 28 Jul
      (King); Wed 29 Jul (Asarnha Bucha); Thu 30 Jul (Buddhist Lent); Wed 12 Aug; Tue 13 Oct;
      Fri 23 Oct; Sat 5 Dec (Father's Day) with Mon 7 Dec as its substitution; Thu 10 Dec;
      Wed 30 Dec (Cabinet special day from the YAML file); Thu 31 Dec.
2027: Fri 1 Jan.
MOI-DPT-BCD only: Mon 14 – Tue 15 Dec 2026 (relocation, agency_closures in the YAML file).
"""

from __future__ import annotations

import datetime as dt

import pytest

from delayhub.calendar import ThaiCalendar
from delayhub.duedates import CALENDAR, WORKING, due_date
from delayhub.notices import NoticeDue, notices_owed

D = dt.date
W, C = WORKING, CALENDAR
BCD = ("MOI-DPT-BCD", "MOI-DPT", "MOI")  # division, department, ministry: closed 14–15 Dec 2026
BORA = ("MOI-DOPA-BORA", "MOI-DOPA", "MOI")  # same ministry, no closure of its own


@pytest.fixture(scope="module")
def cal() -> ThaiCalendar:
    return ThaiCalendar.load()


DUE_ROWS = [
    # --- Songkran 2025 (Sun 13 – Tue 15 Apr, substitution Wed 16) and Chakri Day substitution ---
    pytest.param(D(2025, 4, 11), 1, W, [], None, D(2025, 4, 17),
                 "Fri start not counted; Sat 12, Sun 13 (Songkran), Songkran Mon 14–Tue 15 and Wed 16 "
                 "(substitution for Sun 13) skipped; Thu 17 is working day 1",
                 id="songkran-2025-fri-plus-1"),
    pytest.param(D(2025, 4, 15), 1, W, [], None, D(2025, 4, 17),
                 "Wed 16 is the 2025 substitution day for Songkran falling on Sun 13, so not day 1",
                 id="songkran-2025-substitution-day-skipped"),
    pytest.param(D(2025, 4, 9), 3, W, [], None, D(2025, 4, 17),
                 "Thu 10 = 1, Fri 11 = 2, Sat 12–Wed 16 all off, Thu 17 = 3",
                 id="songkran-2025-wed-plus-3"),
    pytest.param(D(2025, 4, 3), 5, W, [], None, D(2025, 4, 11),
                 "Fri 4 = 1, Sat 5, Sun 6 (Chakri) and Mon 7 (its substitution) off, Tue 8–Fri 11 = 2–5",
                 id="chakri-substitution-2025"),
    pytest.param(D(2025, 4, 10), 4, C, [], None, D(2025, 4, 17),
                 "4 calendar days end Mon 14 (Songkran); Tue 15 Songkran, Wed 16 substitution, so Thu 17",
                 id="songkran-2025-calendar-ends-on-holiday"),
    pytest.param(D(2025, 4, 13), 1, W, [], None, D(2025, 4, 17),
                 "start on Sun 13 = Songkran: counting begins at the next working day; Mon 14–Wed 16 off, "
                 "so Thu 17 is day 1",
                 id="start-on-songkran-sunday-2025"),
    pytest.param(D(2025, 4, 12), 2, C, [], None, D(2025, 4, 17),
                 "calendar start Sat 12: Sun 13 = 1, Mon 14 = 2 is Songkran; Tue 15, Wed 16 off, so Thu 17",
                 id="calendar-start-saturday-songkran-2025"),
    # --- Songkran 2026 (Mon 13 – Wed 15 Apr, no substitution) and Chakri Day Mon 6 Apr ---
    pytest.param(D(2026, 4, 10), 1, W, [], None, D(2026, 4, 16),
                 "Sat 11, Sun 12, Songkran Mon 13–Wed 15 skipped; Thu 16 is day 1",
                 id="songkran-2026-fri-plus-1"),
    pytest.param(D(2026, 4, 2), 5, W, [], None, D(2026, 4, 10),
                 "Fri 3 = 1, Sat 4, Sun 5, Mon 6 (Chakri) off, Tue 7–Fri 10 = 2–5",
                 id="chakri-2026"),
    pytest.param(D(2026, 4, 9), 5, W, [], None, D(2026, 4, 21),
                 "Fri 10 = 1, Sat 11–Wed 15 off, Thu 16 = 2, Fri 17 = 3, Mon 20 = 4, Tue 21 = 5",
                 id="songkran-2026-thu-plus-5"),
    pytest.param(D(2026, 4, 3), 10, C, [], None, D(2026, 4, 16),
                 "10 calendar days from Fri 3 end Mon 13 (Songkran); Tue 14, Wed 15 off, so Thu 16",
                 id="songkran-2026-calendar-ends-on-holiday"),
    pytest.param(D(2026, 4, 13), 2, W, [], None, D(2026, 4, 17),
                 "start on Songkran Mon 13: Tue 14, Wed 15 off, Thu 16 = 1, Fri 17 = 2",
                 id="start-on-songkran-monday-2026"),
    # --- New Year and the year boundary ---
    pytest.param(D(2024, 12, 27), 1, W, [], None, D(2025, 1, 2),
                 "Sat 28, Sun 29, Mon 30 (Cabinet special), Tue 31, Wed 1 Jan off; Thu 2 Jan is day 1",
                 id="year-end-2024-special-day"),
    pytest.param(D(2025, 12, 30), 1, W, [], None, D(2026, 1, 5),
                 "Wed 31, Thu 1 Jan, Fri 2 Jan (Cabinet special), Sat 3, Sun 4 off; Mon 5 Jan is day 1",
                 id="year-end-2025-plus-1"),
    pytest.param(D(2025, 12, 29), 3, W, [], None, D(2026, 1, 6),
                 "Tue 30 = 1, Wed 31 – Sun 4 Jan off, Mon 5 = 2, Tue 6 = 3",
                 id="year-end-2025-plus-3"),
    pytest.param(D(2025, 12, 22), 10, C, [], None, D(2026, 1, 5),
                 "10 calendar days end Thu 1 Jan (New Year); Fri 2 (Cabinet), Sat 3, Sun 4 off, so Mon 5",
                 id="year-end-2025-calendar-ends-new-year"),
    pytest.param(D(2025, 12, 30), 3, C, [], None, D(2026, 1, 5),
                 "3 calendar days end Fri 2 Jan 2026, the Cabinet special day; Sat, Sun, so Mon 5",
                 id="cabinet-2026-01-02-calendar"),
    pytest.param(D(2025, 12, 31), 1, W, [], None, D(2026, 1, 5),
                 "start on New Year's Eve (off): Thu 1, Fri 2 (Cabinet), Sat 3, Sun 4 off; Mon 5 = 1",
                 id="start-on-new-year-eve-2025"),
    pytest.param(D(2026, 12, 28), 2, W, [], None, D(2027, 1, 4),
                 "Tue 29 = 1; Wed 30 (YAML special), Thu 31, Fri 1 Jan, Sat 2, Sun 3 off; Mon 4 Jan = 2",
                 id="year-end-2026-plus-2"),
    pytest.param(D(2026, 12, 30), 1, W, [], None, D(2027, 1, 4),
                 "start on the YAML special day Wed 30: Thu 31, Fri 1 Jan, weekend off; Mon 4 Jan = 1",
                 id="start-on-yaml-special-day"),
    pytest.param(D(2026, 12, 31), 3, W, [], None, D(2027, 1, 6),
                 "start on New Year's Eve 2026: Fri 1 Jan, Sat 2, Sun 3 off; Mon 4 = 1, Tue 5 = 2, Wed 6 = 3",
                 id="start-on-2026-12-31"),
    pytest.param(D(2026, 12, 28), 2, C, [], None, D(2027, 1, 4),
                 "2 calendar days end Wed 30 (YAML special); Thu 31, Fri 1 Jan, Sat 2, Sun 3 off, so Mon 4",
                 id="calendar-ends-on-yaml-special-day"),
    pytest.param(D(2026, 12, 21), 10, C, [], None, D(2027, 1, 4),
                 "10 calendar days end Thu 31 Dec (off); Fri 1 Jan, Sat 2, Sun 3 off, so Mon 4",
                 id="calendar-ends-on-new-year-eve-2026"),
    # --- substitution days ---
    pytest.param(D(2026, 12, 4), 4, W, [], None, D(2026, 12, 14),
                 "Sat 5 (Father's Day), Sun 6, Mon 7 (its substitution) off; Tue 8 = 1, Wed 9 = 2, "
                 "Thu 10 (Constitution) off, Fri 11 = 3, Mon 14 = 4",
                 id="father-day-substitution-and-constitution-2026"),
    pytest.param(D(2026, 5, 29), 1, W, [], None, D(2026, 6, 2),
                 "Sat 30, Sun 31 (Visakha Bucha), Mon 1 Jun (its substitution) off; Tue 2 = 1",
                 id="visakha-substitution-2026"),
    pytest.param(D(2026, 5, 29), 3, W, [], None, D(2026, 6, 5),
                 "Tue 2 = 1, Wed 3 (Queen's birthday) off, Thu 4 = 2, Fri 5 = 3",
                 id="visakha-substitution-and-queen-2026"),
    pytest.param(D(2026, 5, 28), 4, C, [], None, D(2026, 6, 2),
                 "4 calendar days end Mon 1 Jun, the Visakha Bucha substitution day, so Tue 2",
                 id="calendar-ends-on-visakha-substitution-2026"),
    pytest.param(D(2025, 5, 8), 2, W, [], None, D(2025, 5, 14),
                 "Fri 9 (Ploughing), Sat 10, Sun 11 (Visakha Bucha), Mon 12 (its substitution) off; "
                 "Tue 13 = 1, Wed 14 = 2",
                 id="visakha-substitution-and-ploughing-2025"),
    pytest.param(D(2025, 4, 30), 3, W, [], None, D(2025, 5, 7),
                 "Thu 1 May (Labour) off, Fri 2 = 1, Sat 3, Sun 4 (Coronation), Mon 5 (its substitution) "
                 "off, Tue 6 = 2, Wed 7 = 3",
                 id="coronation-substitution-2025"),
    # --- Makha Bucha ---
    pytest.param(D(2025, 2, 11), 1, W, [], None, D(2025, 2, 13),
                 "Wed 12 Feb 2025 is Makha Bucha; Thu 13 = 1",
                 id="makha-bucha-2025"),
    pytest.param(D(2026, 2, 27), 2, W, [], None, D(2026, 3, 4),
                 "Sat 28, Sun 1 off, Mon 2 = 1, Tue 3 (Makha Bucha) off, Wed 4 = 2",
                 id="makha-bucha-2026"),
    pytest.param(D(2026, 2, 28), 3, C, [], None, D(2026, 3, 4),
                 "calendar start Sat 28 Feb: 3 days end Tue 3 Mar (Makha Bucha), so Wed 4",
                 id="makha-bucha-2026-calendar"),
    # --- Asarnha Bucha + Buddhist Lent ---
    pytest.param(D(2025, 7, 9), 1, W, [], None, D(2025, 7, 14),
                 "Thu 10 (Asarnha Bucha), Fri 11 (Buddhist Lent), Sat 12, Sun 13 off; Mon 14 = 1",
                 id="asarnha-lent-2025"),
    pytest.param(D(2026, 7, 27), 2, W, [], None, D(2026, 8, 3),
                 "Tue 28 (King), Wed 29 (Asarnha Bucha), Thu 30 (Lent) off; Fri 31 = 1, Mon 3 Aug = 2",
                 id="king-asarnha-lent-2026"),
    pytest.param(D(2026, 7, 25), 4, C, [], None, D(2026, 7, 31),
                 "calendar start Sat 25: 4 days end Wed 29 (Asarnha Bucha); Thu 30 (Lent) off, so Fri 31",
                 id="calendar-ends-on-asarnha-2026"),
    pytest.param(D(2025, 7, 10), 3, C, [], None, D(2025, 7, 14),
                 "calendar start on Asarnha Bucha Thu 10: days 11, 12, 13 end Sun 13, so Mon 14",
                 id="calendar-start-on-asarnha-2025"),
    # --- Cabinet special days ---
    pytest.param(D(2025, 5, 30), 1, W, [], None, D(2025, 6, 4),
                 "Sat 31, Sun 1, Mon 2 Jun (Cabinet special), Tue 3 (Queen) off; Wed 4 = 1",
                 id="cabinet-2025-06-02"),
    pytest.param(D(2025, 8, 8), 2, W, [], None, D(2025, 8, 14),
                 "Sat 9, Sun 10, Mon 11 (Cabinet special), Tue 12 (Mother's Day) off; Wed 13 = 1, Thu 14 = 2",
                 id="cabinet-2025-08-11"),
    # --- start on a Saturday / a holiday: the first day is not counted ---
    pytest.param(D(2025, 8, 9), 1, W, [], None, D(2025, 8, 13),
                 "start Sat 9: Sun 10, Mon 11 (Cabinet), Tue 12 off; Wed 13 is the first working day",
                 id="start-saturday-before-cabinet-2025-08-11"),
    pytest.param(D(2026, 12, 5), 3, W, [], None, D(2026, 12, 11),
                 "start Sat 5 (Father's Day): Sun 6, Mon 7 off, Tue 8 = 1, Wed 9 = 2, Thu 10 off, Fri 11 = 3",
                 id="start-on-father-day-saturday-2026"),
    pytest.param(D(2025, 12, 10), 2, W, [], None, D(2025, 12, 12),
                 "start on Constitution Day Wed 10: Thu 11 = 1, Fri 12 = 2",
                 id="start-on-constitution-day-2025"),
    # --- calendar-day manuals: last day on a working day / weekend / holiday ---
    pytest.param(D(2026, 1, 7), 30, C, [], None, D(2026, 2, 6),
                 "7 Jan + 30 days = Fri 6 Feb, a working day, kept as is",
                 id="calendar-30-lands-on-working-day"),
    pytest.param(D(2025, 12, 1), 30, C, [], None, D(2026, 1, 5),
                 "1 Dec + 30 = Wed 31 Dec (off); Thu 1, Fri 2 (Cabinet), Sat 3, Sun 4 off, so Mon 5 Jan",
                 id="calendar-30-to-new-year-eve-2025"),
    pytest.param(D(2026, 7, 13), 15, C, [], None, D(2026, 7, 31),
                 "13 Jul + 15 = Tue 28 (King); Wed 29, Thu 30 off, so Fri 31",
                 id="calendar-lands-on-king-birthday-2026"),
    # --- pauses spanning holidays ---
    pytest.param(D(2025, 4, 9), 5, W, [(D(2025, 4, 11), D(2025, 4, 17))], None, D(2025, 4, 23),
                 "unpaused: Thu 10 = 1; Fri 11 and Thu 17 paused (Sat 12–Wed 16 off anyway, only 2 paused "
                 "working days), Fri 18 = 2, Mon 21 = 3, Tue 22 = 4, Wed 23 = 5",
                 id="pause-over-songkran-2025-adds-only-working-days"),
    pytest.param(D(2026, 4, 7), 5, W, [(D(2026, 4, 11), D(2026, 4, 15))], None, D(2026, 4, 17),
                 "due Fri 17 (Wed 8, Thu 9, Fri 10, Thu 16, Fri 17); the pause Sat 11–Wed 15 covers only "
                 "the weekend and Songkran, so it adds nothing",
                 id="pause-only-on-songkran-adds-nothing-working"),
    pytest.param(D(2026, 4, 7), 10, C, [(D(2026, 4, 11), D(2026, 4, 15))], None, D(2026, 4, 22),
                 "10 calendar days end Fri 17; the 5 paused days Sat 11–Wed 15 are all added back "
                 "for a calendar-day manual: Wed 22, a working day",
                 id="pause-on-songkran-adds-every-day-calendar"),
    pytest.param(D(2025, 12, 22), 10, W, [(D(2025, 12, 29), D(2026, 1, 6))], None, D(2026, 1, 14),
                 "unpaused: Tue 23–Fri 26 = 1–4; paused Mon 29, Tue 30, (31 Dec–4 Jan off), Mon 5, Tue 6; "
                 "Wed 7 = 5, Thu 8 = 6, Fri 9 = 7, Mon 12 = 8, Tue 13 = 9, Wed 14 = 10",
                 id="pause-over-year-end-2025-working"),
    pytest.param(D(2026, 12, 21), 5, W, [(D(2026, 12, 28), D(2027, 1, 3))], None, D(2027, 1, 4),
                 "due Mon 28 without the pause; the pause starts on the due day and holds 2 working days "
                 "(Mon 28, Tue 29; 30 Dec–3 Jan off): Tue 22–Fri 25 = 1–4, Mon 4 Jan = 5",
                 id="pause-from-due-day-over-year-end-2026"),
    pytest.param(D(2026, 12, 1), 20, C, [(D(2026, 12, 18), D(2026, 12, 26))], None, D(2027, 1, 4),
                 "20 calendar days end Mon 21; the pause Fri 18–Sat 26 adds 9 days: Wed 30 (YAML special), "
                 "then Thu 31, Fri 1 Jan, Sat 2, Sun 3 off, so Mon 4 Jan",
                 id="calendar-pause-pushes-onto-special-day"),
    pytest.param(D(2026, 5, 25), 5, W, [(D(2026, 5, 20), D(2026, 5, 26))], None, D(2026, 6, 4),
                 "a pause from before the clock start counts only from Tue 26 (1 working day): "
                 "Wed 27 = 1, Thu 28 = 2, Fri 29 = 3, Mon 1 Jun off, Tue 2 = 4, Wed 3 (Queen) off, Thu 4 = 5",
                 id="pause-from-before-clock-start-2026"),
    # --- overlapping pauses ---
    pytest.param(D(2025, 4, 7), 5, W, [(D(2025, 4, 10), D(2025, 4, 14)), (D(2025, 4, 11), D(2025, 4, 18))],
                 None, D(2025, 4, 23),
                 "start on Mon 7 (Chakri substitution); merged pause Thu 10–Fri 18 holds Thu 10, Fri 11, "
                 "Thu 17, Fri 18 (Fri 11 once): Tue 8 = 1, Wed 9 = 2, Mon 21 = 3, Tue 22 = 4, Wed 23 = 5",
                 id="overlapping-pauses-over-songkran-2025"),
    pytest.param(D(2026, 7, 20), 7, C, [(D(2026, 7, 22), D(2026, 7, 24)), (D(2026, 7, 23), D(2026, 7, 25))],
                 None, D(2026, 7, 31),
                 "7 calendar days end Mon 27; merged pause Wed 22–Sat 25 = 4 days (not 3 + 3), so Fri 31 "
                 "(counted separately it would end Sun 2 Aug and move to Mon 3)",
                 id="overlapping-pauses-calendar-2026"),
    # --- pauses that begin after the due date, and open pauses ---
    pytest.param(D(2026, 5, 25), 5, W, [(D(2026, 6, 3), D(2026, 6, 5))], None, D(2026, 6, 2),
                 "due Tue 2 Jun (Tue 26–Fri 29 = 1–4, Mon 1 Jun off, Tue 2 = 5); the pause starts Wed 3, "
                 "after the due date, so it does not extend it",
                 id="pause-after-due-does-not-extend"),
    pytest.param(D(2026, 5, 25), 5, W, [(D(2026, 6, 1), D(2026, 6, 1))], None, D(2026, 6, 2),
                 "the pause covers only Mon 1 Jun, the Visakha substitution day: no working day paused",
                 id="pause-on-holiday-before-due-adds-nothing"),
    pytest.param(D(2025, 7, 3), 7, C, [(D(2025, 7, 15), D(2025, 7, 18))], None, D(2025, 7, 14),
                 "7 calendar days end Thu 10 (Asarnha); Fri 11 (Lent), weekend, so Mon 14; a pause from "
                 "Tue 15 is after the due date",
                 id="calendar-pause-after-due-2025"),
    pytest.param(D(2025, 4, 11), 3, W, [(D(2025, 4, 14), None)], None, None,
                 "due Mon 21 without the pause (Thu 17, Fri 18, Mon 21); an open pause from Mon 14 began in "
                 "time, so no due date yet",
                 id="open-pause-in-time-working"),
    pytest.param(D(2025, 4, 11), 4, C, [(D(2025, 4, 13), None)], None, None,
                 "4 calendar days end Tue 15 (Songkran), due Thu 17; an open pause from Sun 13 began in time",
                 id="open-pause-in-time-calendar"),
    pytest.param(D(2025, 4, 11), 1, W, [(D(2025, 4, 18), None)], None, D(2025, 4, 17),
                 "due Thu 17 (after Songkran); an open pause from Fri 18 began after it and changes nothing",
                 id="open-pause-after-due"),
    pytest.param(D(2026, 7, 21), 3, W, [(D(2026, 7, 27), None)], None, D(2026, 7, 24),
                 "Wed 22 = 1, Thu 23 = 2, Fri 24 = 3; an open pause from Mon 27 began after the due date",
                 id="open-pause-after-due-2026"),
    pytest.param(D(2026, 7, 21), 3, W, [(D(2026, 7, 23), D(2026, 7, 23)), (D(2026, 7, 27), None)], None, None,
                 "the one-day pause Thu 23 moves the due date from Fri 24 to Mon 27, so the open pause from "
                 "Mon 27 now began in time: no due date",
                 id="closed-pause-brings-open-pause-in-time"),
    # --- one agency's closure (MOI-DPT-BCD, Mon 14 – Tue 15 Dec 2026) ---
    pytest.param(D(2026, 12, 11), 1, W, [], BCD, D(2026, 12, 16),
                 "for MOI-DPT-BCD: Sat 12, Sun 13, closed Mon 14–Tue 15; Wed 16 = 1",
                 id="agency-closure-fri-plus-1"),
    pytest.param(D(2026, 12, 11), 1, W, [], None, D(2026, 12, 14),
                 "same request on the general calendar: Mon 14 = 1",
                 id="no-agency-no-closure"),
    pytest.param(D(2026, 12, 11), 1, W, [], BORA, D(2026, 12, 14),
                 "MOI-DOPA-BORA shares the ministry but not the closure: Mon 14 = 1",
                 id="sibling-division-not-closed"),
    pytest.param(D(2026, 12, 4), 4, W, [], BCD, D(2026, 12, 16),
                 "Tue 8 = 1, Wed 9 = 2, Thu 10 off, Fri 11 = 3, Mon 14–Tue 15 closed, Wed 16 = 4",
                 id="agency-closure-plus-4"),
    pytest.param(D(2026, 12, 4), 10, C, [], BCD, D(2026, 12, 16),
                 "10 calendar days end Mon 14, closed for MOI-DPT-BCD as is Tue 15, so Wed 16",
                 id="agency-closure-calendar"),
    pytest.param(D(2026, 12, 9), 3, W, [(D(2026, 12, 11), D(2026, 12, 15))], BCD, D(2026, 12, 18),
                 "Thu 10 off; the pause Fri 11–Tue 15 holds 1 working day for this agency (Fri 11; 14–15 "
                 "closed): Wed 16 = 1, Thu 17 = 2, Fri 18 = 3",
                 id="agency-closure-with-pause"),
]


@pytest.mark.parametrize(("start", "days", "unit", "pauses", "agency", "expected", "why"), DUE_ROWS)
def test_due_date_table(cal: ThaiCalendar, start: dt.date, days: int, unit: str, pauses: list,
                        agency: tuple[str, ...] | None, expected: dt.date | None, why: str) -> None:
    calendar = cal.for_agency(*agency) if agency else cal
    assert due_date(start, days, unit, calendar, pauses) == expected, why


def delay(k: int, owed_on: dt.date, late: int) -> NoticeDue:
    return NoticeDue("delay", k, owed_on, late)


def result(owed_on: dt.date, late: int) -> NoticeDue:
    return NoticeDue("result", 1, owed_on, late)


EARLY = D(2024, 12, 1)  # the hub knew these requests long before they were due

NOTICE_ROWS = [
    pytest.param("in_progress", D(2025, 4, 11), None, D(2025, 4, 12), EARLY, 0,
                 [delay(1, D(2025, 4, 12), 0)],
                 "due Fri 11 Apr 2025; notice 1 owed Sat 12 (due + 1) although it is a Saturday",
                 id="notice-1-owed-on-saturday"),
    pytest.param("in_progress", D(2025, 4, 11), None, D(2025, 4, 16), EARLY, 0,
                 [delay(1, D(2025, 4, 12), 4)],
                 "on Wed 16 (Songkran substitution) only notice 1 is owed, 4 days late (12 → 16)",
                 id="notice-1-late-over-songkran"),
    pytest.param("in_progress", D(2026, 12, 29), None, D(2026, 12, 30), EARLY, 0,
                 [delay(1, D(2026, 12, 30), 0)],
                 "due Tue 29 Dec 2026; notice 1 owed Wed 30, the Cabinet special day, no matter",
                 id="notice-1-owed-on-special-day"),
    pytest.param("in_progress", D(2026, 12, 29), None, D(2027, 1, 7), EARLY, 0,
                 [delay(1, D(2026, 12, 30), 8), delay(2, D(2027, 1, 6), 1)],
                 "notice 2 owed 29 Dec + 8 = Wed 6 Jan 2027 (New Year holidays not skipped); on Thu 7 Jan "
                 "notice 1 is 8 days late and notice 2 1 day late",
                 id="notices-across-year-boundary-2027"),
    pytest.param("in_progress", D(2025, 12, 24), None, D(2026, 1, 2), EARLY, 0,
                 [delay(1, D(2025, 12, 25), 8), delay(2, D(2026, 1, 1), 1)],
                 "due Wed 24 Dec 2025: notice 1 owed Thu 25 Dec, notice 2 owed Thu 1 Jan (New Year's Day); "
                 "on Fri 2 Jan they are 8 and 1 days late",
                 id="notice-2-owed-on-new-year-day-2026"),
    pytest.param("in_progress", D(2026, 4, 9), None, D(2026, 5, 1), EARLY, 1,
                 [delay(2, D(2026, 4, 17), 14), delay(3, D(2026, 4, 24), 7), delay(4, D(2026, 5, 1), 0)],
                 "due Thu 9 Apr 2026; notice 1 (Fri 10) was sent, then an outage; three weeks later on "
                 "Fri 1 May notices 2 (17 Apr), 3 (24 Apr), 4 (1 May) are owed 14, 7 and 0 days late",
                 id="catch-up-after-outage"),
    pytest.param("in_progress", D(2026, 4, 9), None, D(2026, 4, 12), EARLY, 1, [],
                 "on Sun 12 only notice 1 is owed and it was already sent",
                 id="already-sent-nothing-more"),
    pytest.param("in_progress", D(2026, 4, 9), None, D(2026, 4, 26), D(2026, 4, 26), 0,
                 [delay(3, D(2026, 4, 24), 2)],
                 "learned of the request on Sun 26, 17 days past due (third period): notices 1 and 2 are "
                 "not replayed; notice 3 (owed Fri 24) is 2 days late",
                 id="known-since-after-two-periods"),
    pytest.param("in_progress", D(2026, 4, 9), None, D(2026, 5, 2), D(2026, 4, 26), 0,
                 [delay(3, D(2026, 4, 24), 8), delay(4, D(2026, 5, 1), 1)],
                 "learned on Sun 26 and then an outage until Sat 2 May: notices 3 and 4 only, 8 and 1 days late",
                 id="known-since-late-then-outage"),
    pytest.param("waiting_applicant", D(2026, 4, 9), None, D(2026, 4, 17), EARLY, 0,
                 [delay(1, D(2026, 4, 10), 7), delay(2, D(2026, 4, 17), 0)],
                 "waiting on the applicant after the due date does not stop the notices",
                 id="waiting-after-due-still-owed"),
    pytest.param("completed", D(2026, 4, 9), D(2026, 4, 20), D(2026, 4, 20), EARLY, 2,
                 [result(D(2026, 4, 20), 0)],
                 "completed Mon 20 Apr after two delay notices: only the result notice, on time",
                 id="completed-only-result-notice"),
    pytest.param("completed", D(2026, 4, 9), D(2026, 4, 20), D(2026, 4, 27), EARLY, 0,
                 [result(D(2026, 4, 20), 0)],
                 "Mon 27 is the 7th day after completion: not late yet",
                 id="result-on-7th-day-not-late"),
    pytest.param("completed", D(2026, 4, 9), D(2026, 4, 20), D(2026, 4, 30), EARLY, 0,
                 [result(D(2026, 4, 20), 3)],
                 "Thu 30 is 10 days after completion: 10 − 7 = 3 days late",
                 id="result-late-after-7-days"),
    pytest.param("rejected", D(2026, 12, 29), D(2026, 12, 30), D(2027, 1, 8), EARLY, 1,
                 [result(D(2026, 12, 30), 2)],
                 "rejected on the special day Wed 30 Dec; on Fri 8 Jan 2027 (9 days) the result notice is 2 "
                 "days late, holidays notwithstanding",
                 id="rejected-result-late-across-new-year"),
    pytest.param("completed", D(2026, 4, 9), D(2026, 4, 20), D(2026, 5, 1), D(2026, 5, 1), 0, [],
                 "hub learned on Fri 1 May, after completion and after the 7 days ran out (27 Apr): nothing",
                 id="completed-learned-too-late-none"),
    pytest.param("withdrawn", D(2026, 4, 9), None, D(2026, 5, 1), EARLY, 1, [],
                 "withdrawn: no delay notices and no result notice, however far past due",
                 id="withdrawn-none"),
]


@pytest.mark.parametrize(
    ("status", "due_on", "completed_on", "today", "known_since", "already_sent", "expected", "why"), NOTICE_ROWS
)
def test_notices_table(status: str, due_on: dt.date | None, completed_on: dt.date | None, today: dt.date,
                       known_since: dt.date, already_sent: int, expected: list[NoticeDue], why: str) -> None:
    assert notices_owed(status, due_on, completed_on, today, known_since, already_sent) == expected, why
