"""What operators are told and when: which failures are retried, the alert's words, stale sources."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import sys
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import update

from delayhub import config, staleness
from delayhub.errors import ConfigError, SourceAuthError, SourceError, SourceUnavailable
from delayhub.mapping import load_mapping
from delayhub.ops_alerts import DEFAULT_OPS_EMAIL, classify, failure_alert, ops_email, send_alert, stale_alert
from delayhub.registry import Registry
from delayhub.sinks import SmtpSink
from delayhub.store.models import JobRun

ROOT = Path(__file__).resolve().parents[1]
DBD_FILE = ROOT / "mappings" / "moc-dbd-registration.yaml"
FDA_FILE = ROOT / "mappings" / "moph-fda-esubmission.yaml"
DAY = dt.timedelta(days=1)


def wrapped(cause: BaseException) -> BaseException:
    """An error raised ``from`` another, as the Airflow adapter wraps a permanent one."""
    try:
        raise RuntimeError("wrapper") from cause
    except RuntimeError as exc:
        return exc


# --- which failures are retried ------------------------------------------------------------------

@pytest.mark.parametrize(("error", "kind", "retry"), [
    (SourceUnavailable("http://bo/api: still HTTP 503 after retries"), "unavailable", True),
    (TimeoutError("timed out"), "unavailable", True),
    (ConnectionRefusedError("refused"), "unavailable", True),
    (SourceAuthError("http://bo/api: HTTP 401"), "auth", False),
    (ConfigError("mappings/x.yaml", "fields.status", "'state' not in record"), "config", False),
    (SourceError("http://bo/api: the answer is not JSON"), "source", False),
    (ValueError("a bug of ours"), "unexpected", True),
    (wrapped(SourceAuthError("HTTP 403")), "auth", False),
    (wrapped(SourceUnavailable("HTTP 502")), "unavailable", True),
], ids=["5xx", "timeout", "refused", "credentials", "broken-mapping", "unreadable-answer", "bug",
        "wrapped-credentials", "wrapped-5xx"])
def test_transient_failures_are_retried_and_permanent_ones_are_not(error: BaseException, kind: str,
                                                                   retry: bool) -> None:
    assert (classify(error).name, classify(error).retry) == (kind, retry)


@pytest.fixture
def airflow_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The DAG task's callable, imported as Airflow's workers import it (plugins/ on the path)."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW_CONFIG", str(ROOT / "airflow.cfg"))
    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    from airflow.sdk.exceptions import AirflowFailException
    from delayhub_airflow.tasks import run_ingest

    yield run_ingest, AirflowFailException
    sys.modules.pop("delayhub_airflow.tasks", None)


@pytest.mark.airflow
def test_the_ingest_task_fails_at_once_only_when_retrying_cannot_help(airflow_adapter, monkeypatch,
                                                                       tmp_path: Path) -> None:
    from demo.backoffice import BackOffice

    run_ingest, fail_at_once = airflow_adapter
    quick = tmp_path / DBD_FILE.name  # the connector's own in-request retries, kept short
    quick.write_text(DBD_FILE.read_text(encoding="utf-8").replace(
        "  type: rest\n", "  type: rest\n  max_retries: 1\n  backoff: 0.1\n"), encoding="utf-8")
    office = BackOffice(config.today()).start()
    try:
        for name, value in office.connection_env().items():
            monkeypatch.setenv(name, value)
        office.faults = [503] * 5  # more than the connector's own retries
        with pytest.raises(SourceUnavailable):  # raised as it is: Airflow retries it with backoff
            run_ingest(str(quick))
        office.faults = []
        monkeypatch.setenv("AIRFLOW_CONN_MOC_DBD_BACKOFFICE",
                           f'{{"conn_type": "http", "host": "{office.host}", "port": {office.port}, "password": "x"}}')
        with pytest.raises(fail_at_once) as refused:
            run_ingest(str(DBD_FILE))
        assert isinstance(refused.value.__cause__, SourceAuthError)
        monkeypatch.delenv("AIRFLOW_CONN_MOC_DBD_BACKOFFICE")
        with pytest.raises(fail_at_once, match="AIRFLOW_CONN_MOC_DBD_BACKOFFICE"):
            run_ingest(str(DBD_FILE))  # a Connection nobody created is a setting to fix
        for name, value in office.connection_env().items():
            monkeypatch.setenv(name, value)
        figures = run_ingest(str(DBD_FILE))
    finally:
        office.stop()
    assert figures["read"] == len(office.dbd) and figures["stale"] is False


# --- the alert's words --------------------------------------------------------------------------

def test_a_failure_alert_names_agency_connector_and_cause_in_thai_then_english() -> None:
    mapping, registry = load_mapping(DBD_FILE), Registry.load()
    alert = failure_alert(wrapped(SourceAuthError("http://bo/dbd/api: HTTP 401")), job=mapping.dag_id,
                          mapping=mapping, registry=registry, tries=1, run_id="manual__2026-11-24T03:00:00+00:00",
                          link="http://airflow.example/dags/ingest_moc_dbd_registration")
    assert alert.subject.startswith("[delayhub] ดึงข้อมูลคำขอจาก กรมพัฒนาธุรกิจการค้า ไม่สำเร็จ")
    assert "moc-dbd-registration" in alert.subject
    thai, sep, english = alert.body.partition("— English —")
    assert sep, "an English part follows the Thai"
    for words in ("กรมพัฒนาธุรกิจการค้า (MOC-DBD) กระทรวงพาณิชย์ (MOC)", "ตัวเชื่อมต่อ: moc-dbd-registration (rest)",
                  "Airflow Connection: moc_dbd_backoffice", "สาเหตุ: ระบบงานของหน่วยงานปฏิเสธรหัสผ่านหรือคีย์",
                  "ไม่ลองซ้ำ", "SourceAuthError: http://bo/dbd/api: HTTP 401",
                  "http://airflow.example/dags/ingest_moc_dbd_registration"):
        assert words in thai
    assert "Cause: the back office refused our credentials." in english and "not retried" in english
    assert alert.email().to == ops_email()


def test_a_transient_failure_alert_says_it_was_retried_and_will_be_again() -> None:
    alert = failure_alert(SourceUnavailable("http://bo: still HTTP 503 after retries"),
                          job="ingest_moph_fda_esubmission", mapping=load_mapping(FDA_FILE),
                          registry=Registry.load(), tries=4)
    assert "สำนักงานคณะกรรมการอาหารและยา" in alert.subject
    assert "ลองแล้ว 4 ครั้ง" in alert.body and "tried 4 time(s)" in alert.body
    assert "ติดต่อระบบงานของหน่วยงานไม่ได้ชั่วคราว" in alert.body


def test_a_hub_job_failure_alert_needs_no_mapping() -> None:
    alert = failure_alert(ValueError("boom"), job="notice_sweep", tries=4)
    assert alert.subject == "[delayhub] งาน notice_sweep ไม่สำเร็จ: เกิดข้อผิดพลาดที่ไม่คาดคิดภายใน delayhub"
    assert "The delayhub job notice_sweep failed." in alert.body


def test_personal_data_an_error_echoes_is_masked_in_the_alert() -> None:
    echoed = SourceError("HTTP 400: bad record {pid: 1-2345-67890-12-1, mobile: 0812345678, "
                         "email: somchai@example.co.th, id2: 3101234567891}")
    body = failure_alert(echoed, job="ingest_x").body
    for clear in ("1-2345-67890-12-1", "0812345678", "somchai@example.co.th", "3101234567891"):
        assert clear not in body
    assert "x-xxxx-xxxxx-12-1" in body and "08x-xxx-5678" in body and "s***@example.co.th" in body


def test_operators_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DELAYHUB_OPS_EMAIL", raising=False)
    assert ops_email() == DEFAULT_OPS_EMAIL
    monkeypatch.setenv("DELAYHUB_OPS_EMAIL", "noc@opdc.go.th")
    assert ops_email() == "noc@opdc.go.th"


# --- stale sources ------------------------------------------------------------------------------

def ingest_run(store, connector_id: str, stored: int, days_ago: float = 0) -> None:
    """One ingest job run as the core records it, started ``days_ago``."""
    with store.job("ingest", connector_id) as job:
        job.add("stored", stored)
    if days_ago:
        with store.transaction() as s:  # the clock cannot be turned back, so the row is
            s.execute(update(JobRun).where(JobRun.id == job.id)
                      .values(started_at=config.now() - dt.timedelta(days=days_ago)))


def test_a_quiet_source_is_stale_after_its_window_and_alerted_once_per_quiet_spell(store) -> None:
    mapping = dataclasses.replace(load_mapping(DBD_FILE), stale_after=3 * DAY)
    now = config.now()
    assert staleness.check(store, dataclasses.replace(mapping, stale_after=None)) is None
    assert not staleness.check(store, mapping, now + 10 * DAY).stale, "never run: nothing to judge"

    ingest_run(store, mapping.id, stored=5)
    assert not staleness.check(store, mapping, now + 2 * DAY).stale
    state = staleness.check(store, mapping, now + 4 * DAY)
    assert state.stale and state.alert_due and state.quiet_for > 3 * DAY

    staleness.record_alert(store, state)
    ingest_run(store, mapping.id, stored=0)  # read, but nothing new: the spell goes on
    state = staleness.check(store, mapping, now + 5 * DAY)
    assert state.stale and not state.alert_due, "told once per quiet spell"

    ingest_run(store, mapping.id, stored=2)  # records again: a new spell may start
    assert not staleness.check(store, mapping, now + 1 * DAY).stale
    assert staleness.check(store, mapping, now + 4 * DAY).alert_due


def test_a_source_that_never_stored_anything_is_stale_from_its_first_run(sqlite_store) -> None:
    mapping = dataclasses.replace(load_mapping(FDA_FILE), stale_after=dt.timedelta(hours=36))
    ingest_run(sqlite_store, mapping.id, stored=0, days_ago=2)
    ingest_run(sqlite_store, "moc-dbd-registration", stored=9)  # another connector's news is not this one's
    state = staleness.check(sqlite_store, mapping)
    assert state.stale and state.last_new_at is None and state.quiet_for > dt.timedelta(hours=36)


def test_the_stale_alert_says_how_long_and_what_to_do(sqlite_store) -> None:
    mapping = dataclasses.replace(load_mapping(DBD_FILE), stale_after=3 * DAY)
    ingest_run(sqlite_store, mapping.id, stored=5, days_ago=4.2)
    alert = stale_alert(staleness.check(sqlite_store, mapping), mapping, Registry.load())
    assert alert.subject == "[delayhub] ไม่มีข้อมูลใหม่จาก กรมพัฒนาธุรกิจการค้า นานเกินกำหนด (moc-dbd-registration)"
    thai, _, english = alert.body.partition("— English —")
    assert "มาแล้ว 4 วัน 4 ชั่วโมง" in thai and "เกินกว่าที่กำหนดไว้ 3 วัน" in thai and "stale_after" in thai
    assert "for 4 days 4 hours" in english and "longer than the 3 days its mapping allows" in english


@pytest.mark.airflow
def test_the_ingest_dag_emails_the_operators_once_while_a_source_stays_quiet(sqlite_store, tmp_path, monkeypatch,
                                                                               airflow_adapter) -> None:
    from delayhub_airflow.alerts import flag_staleness

    sink = SmtpSink(tmp_path / "mail").start()
    monkeypatch.setenv("DELAYHUB_SMTP_PORT", str(sink.port))  # no delayhub_smtp Connection: the environment's
    monkeypatch.setenv("DELAYHUB_OPS_EMAIL", "noc@opdc.go.th")
    mapping = dataclasses.replace(load_mapping(DBD_FILE), stale_after=3 * DAY)
    try:
        ingest_run(sqlite_store, mapping.id, stored=5, days_ago=4)
        assert flag_staleness(sqlite_store, mapping, Registry.load())
        assert flag_staleness(sqlite_store, mapping, Registry.load()), "still stale, still logged"
    finally:
        sink.stop()
    (sent,) = sink.messages()
    msg = email.message_from_bytes(sent.read_bytes(), policy=default_policy)
    assert msg["To"] == "noc@opdc.go.th" and "กรมพัฒนาธุรกิจการค้า" in msg["Subject"]


def test_an_alert_the_mail_server_does_not_take_is_reported_not_raised() -> None:
    from delayhub.config import SmtpConfig

    alert = failure_alert(ValueError("x"), job="dispatch_notices")
    assert send_alert(alert, SmtpConfig(host="127.0.0.1", port=1, timeout=5)) is False


# --- the mapping key ----------------------------------------------------------------------------

def test_stale_after_is_a_window_like_lookback(tmp_path: Path) -> None:
    text = FDA_FILE.read_text(encoding="utf-8")
    good = tmp_path / "moph-fda-esubmission.yaml"
    good.write_text(text + "stale_after: 36 hours\n", encoding="utf-8")
    assert load_mapping(good).stale_after == 1.5 * DAY
    assert load_mapping(FDA_FILE).stale_after is None  # a source may rightly stay quiet: no flag
    assert load_mapping(DBD_FILE).stale_after == 3 * DAY
    good.write_text(text + "stale_after: 3d\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="stale_after"):
        load_mapping(good)
