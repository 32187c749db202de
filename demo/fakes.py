"""Make-believe people and dates for the bundled back offices: one place for all of them."""

from __future__ import annotations

import datetime as dt
import random

from delayhub.normalise import national_id_check_digit

THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w for w, _ in weighted], weights=[n for _, n in weighted])[0]


def national_id(rng: random.Random) -> str:
    """A valid (check digit and all) but made-up 13-digit ID."""
    body = str(rng.choice([1, 3])) + "".join(str(rng.randint(0, 9)) for _ in range(11))
    return body + str(national_id_check_digit(body))


def be_date(day: dt.date, style: int) -> str:
    """A Buddhist-Era date as back offices write them: 0 ``24/11/2569``, 1 ``2569-11-24``, 2 ``๒๔/๑๑/๒๕๖๙``."""
    if style == 0:
        return f"{day.day:02d}/{day.month:02d}/{day.year + 543}"
    if style == 1:
        return f"{day.year + 543}-{day.month:02d}-{day.day:02d}"
    return f"{day.day}/{day.month}/{day.year + 543}".translate(THAI)
