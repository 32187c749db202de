"""`delayhub connector validate | test | preview`, run as an agency's IT team runs them."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from demo.backoffice import DBD_KEY, BackOffice

ROOT = Path(__file__).resolve().parents[1]
DBD = ROOT / "mappings" / "moc-dbd-registration.yaml"
CONN = "AIRFLOW_CONN_MOC_DBD_BACKOFFICE"


def delayhub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run([str(ROOT / ".venv" / "bin" / "delayhub"), "connector", *args], env=full,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def office():
    server = BackOffice(dt.date(2026, 11, 25)).start()
    yield server
    server.stop()


def conn(port: int, key: str = DBD_KEY, host: str = "127.0.0.1") -> dict[str, str]:
    return {CONN: json.dumps({"conn_type": "http", "host": host, "port": port, "password": key})}


def broken(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "moc-dbd-registration.yaml"
    text = DBD.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_validate_accepts_every_shipped_mapping() -> None:
    for path in sorted((ROOT / "mappings").glob("*.yaml")):
        done = delayhub("validate", str(path))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "valid" in done.stdout


@pytest.mark.parametrize(("old", "new", "expected"), [
    pytest.param("type: page_number", "type: pages", "source.paginator.type: 'pages' is not a known type",
                 id="schema-error-with-line"),
    pytest.param("department: MOC-DBD", "department: MOC-DBX", "agency.department: 'MOC-DBX' is not a department",
                 id="unknown-department"),
    pytest.param("REG: MOC-DBD-REG", "REG: MOPH-FDA-FOOD", "'MOPH-FDA-FOOD' is not a division of MOC-DBD",
                 id="division-of-another-department"),
    pytest.param("  manual_id: manual_ref\n", "", "'manual_id' is not mapped", id="required-field-missing"),
])
def test_validate_names_the_line_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = broken(tmp_path, old, new)
    done = delayhub("validate", str(path))
    assert done.returncode == 1
    assert expected in done.stdout
    line = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if (new.strip() or "fields:") in text)
    assert f"{path}:{line}: error:" in done.stdout


def test_validate_warns_when_no_default_reason(tmp_path: Path) -> None:
    text = DBD.read_text(encoding="utf-8")
    path = tmp_path / "moc-dbd-registration.yaml"
    path.write_text(text[: text.index("delay_reasons:")], encoding="utf-8")
    done = delayhub("validate", str(path))
    assert done.returncode == 0 and "warning: delay_reasons: no default reason" in done.stdout


def test_connection_test_says_what_failed(office: BackOffice) -> None:
    ok = delayhub("test", str(DBD), env=conn(office.port))
    assert ok.returncode == 0 and ok.stdout.startswith("OK (rest)")
    auth = delayhub("test", str(DBD), env=conn(office.port, key="wrong"))
    assert auth.returncode == 1 and "FAILED — authentication" in auth.stdout
    dns = delayhub("test", str(DBD), env=conn(office.port, host="backoffice.invalid"))
    assert "FAILED — DNS" in dns.stdout
    missing = delayhub("test", str(DBD))
    assert "FAILED — configuration" in missing.stdout and CONN in missing.stdout
    assert DBD_KEY not in ok.stdout + auth.stdout + dns.stdout, "secrets never printed"


def test_preview_reads_no_more_than_the_limit_and_writes_nothing(office: BackOffice, tmp_path: Path) -> None:
    var = tmp_path / "var"
    office.requests_seen = 0
    done = delayhub("preview", str(DBD), "--limit", "5", env={**conn(office.port), "DELAYHUB_VAR": str(var)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("  ✓ ") == 5 and "5 record(s) read" in done.stdout
    assert office.requests_seen == 1, "one page of five, nothing beyond the limit"
    assert not (var / "delayhub.db").exists(), "preview writes nothing"
    assert "x-xxxx-xxxxx-" in done.stdout and "@example.co.th" in done.stdout
    raw_ids = {r["applicant"]["pid"] for r in office.dbd}
    assert not any(pid in done.stdout for pid in raw_ids), "national IDs are masked"


def test_preview_lists_what_would_be_quarantined(office: BackOffice, tmp_path: Path) -> None:
    done = delayhub("preview", str(DBD), "--limit", "200", env={**conn(office.port), "DELAYHUB_VAR": str(tmp_path)})
    assert "200 record(s) read: 194 would be stored, 6 quarantined" in done.stdout
    assert "✗ A000030: would be quarantined — status: status word 'ส่งเรื่องให้หน่วยงานอื่น'" in done.stdout


def test_validate_on_a_file_that_does_not_exist(tmp_path: Path) -> None:
    done = delayhub("validate", str(tmp_path / "nope.yaml"))
    assert done.returncode == 1 and "cannot read the file" in done.stdout
    shutil.rmtree(tmp_path, ignore_errors=True)
