"""What the central queue's tests share: the key its signed links and phone proofs use, the agency most tests
book at, Bangkok times on the pinned days, the clock a test moves by hand, and valid national ids and phone
numbers for numbered people. The ``clock`` and ``queue`` fixtures built from them are in conftest.py."""

from __future__ import annotations

import datetime as dt

from delayhub.config import TIMEZONE
from delayhub.normalise import national_id_check_digit

KEY = b"test-queue-key-" + b"k" * 32
# กรมพัฒนาธุรกิจการค้า: 14 half-hour slots 08:30–16:30 (lunch 12–13), web places go to walk-ins from 13:00;
# walk-in counters 1, 2, 3 (A), web 4, 5 (W), mobile 6 (M); an SMS at 3 people ahead; absent after 3 calls
DBD = "MOC-DBD"
WEDNESDAY = "2026-11-25"


def at(hm: str, day: str = WEDNESDAY) -> dt.datetime:
    """``hm`` (HH:MM) on ``day`` in Bangkok, as the UTC time the store keeps."""
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TIMEZONE).astimezone(dt.UTC)


class Clock:
    """The queue's ``now``: stands still until a test sets ``clock.now``."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def nid(n: int) -> str:
    """Person ``n``'s national id (with its check digit)."""
    first12 = f"1{n:011d}"
    return first12 + str(national_id_check_digit(first12))


def phone(n: int) -> str:
    """Person ``n``'s mobile number."""
    return f"08{n:08d}"
