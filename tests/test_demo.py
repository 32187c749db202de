"""`delayhub demo`, the README's first command's last step, run twice through Airflow."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.airflow


def run_demo(var: Path) -> str:
    env = dict(os.environ, DELAYHUB_ROOT=str(ROOT), DELAYHUB_VAR=str(var))
    env.pop("DELAYHUB_DATABASE_URL", None)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "delayhub"), "demo"], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def figure(text: str, pattern: str) -> int:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in:\n{text}"
    return int(match.group(1))


def test_demo_delivers_then_sends_nothing_twice(tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = run_demo(var)
    dags = [f"ingest_{p.stem.replace('-', '_')}" for p in sorted((ROOT / "mappings").glob("*.yaml"))]
    for dag in [*dags, "notice_sweep", "dispatch_notices"]:
        assert f"{dag}: success" in first
    assert "moc-dbd-registration: read 200, stored 194" in first
    assert "quarantined 6" in first and "first quarantine reasons:" in first
    emails = figure(first, r"delivered this run: email (\d+)")
    letters = figure(first, r"printable letter (\d+)")
    assert letters > 0 and len(list((var / "print").rglob("*.pdf"))) == letters
    sms = figure(first, r"SMS (\d+),")
    opdc = figure(first, r"copy to OPDC (\d+)")
    assert emails > 0 and sms > 0 and opdc > 0
    mail = list((var / "demo" / "mail").glob("*.eml"))
    assert len(mail) == emails + opdc
    sms_lines = (var / "demo" / "sms.log").read_text(encoding="utf-8").splitlines()
    assert len(sms_lines) == sms
    assert not re.search(r'"to": "0\d{9}"', "\n".join(sms_lines)), "phone numbers are masked in the SMS log"

    second = run_demo(var)
    ingest_lines = [line for line in second.splitlines() if re.match(r"  [a-z-]+: read \d+", line)]
    assert len(ingest_lines) == len(dags)
    assert all("stored 0 (new 0, changed 0" in line for line in ingest_lines), ingest_lines
    assert "first answer replayed, nothing stored twice" in second
    assert "nothing new was owed" in second
    assert figure(second, r"delivered this run: email (\d+)") == 0
    assert len(list((var / "demo" / "mail").glob("*.eml"))) == len(mail)
    assert len((var / "demo" / "sms.log").read_text(encoding="utf-8").splitlines()) == sms
