"""The production profile (deploy/production.env) for real: PostgreSQL for Airflow's metadata and the
hub store, the Celery executor on Redis, two Celery workers, DAGs triggered through the REST API.

Fresh databases are made for the run and dropped after it. Skipped when PostgreSQL or Redis does not
answer on this machine, unless CI is set (then it fails, as tests/conftest.py does for PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy
from conftest import PG_ADMIN_URL, postgres_available

from demo.backoffice import BackOffice

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))  # deploy/ is a folder of tools, not an installed package
from single_host import (  # noqa: E402
    AirflowApi,
    Stack,
    placeholders,
    read_env_file,
    scratch_databases,
    trial_env,
)

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]
INGEST = "ingest_moc_dbd_registration"
RUN_TIMEOUT = 600


def require(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} does not answer; CI must test against it")
        pytest.skip(f"{what} does not answer")


def redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def test_the_shipped_profile_holds_no_secret() -> None:
    profile = read_env_file()
    secret_like = {k for k in profile if re.search(r"SECRET|FERNET|_KEY$|PASSWORD|TOKEN", k)}
    assert secret_like == set(placeholders(profile)), "every secret in deploy/production.env is a placeholder"
    assert not [k for k, v in profile.items() if "://" in v and urlsplit(v).password], "no password in a URL"
    assert profile["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_ingest_and_sweep_run_on_two_celery_workers_against_postgresql(tmp_path: Path) -> None:
    profile = read_env_file()
    require(postgres_available(), f"PostgreSQL at {PG_ADMIN_URL}")
    require(redis_available(profile["AIRFLOW__CELERY__BROKER_URL"]),
            f"Redis at {profile['AIRFLOW__CELERY__BROKER_URL']}")
    tag = uuid.uuid4().hex[:8]
    airflow_db, hub_db, queue = f"delayhub_test_af_{tag}", f"delayhub_test_hub_{tag}", f"delayhub-test-{tag}"
    office = BackOffice(dt.date.today()).start()
    try:
        with scratch_databases(PG_ADMIN_URL, airflow_db, hub_db):
            env = trial_env(profile, root=ROOT, work=tmp_path, server_url=PG_ADMIN_URL, airflow_db=airflow_db,
                            hub_db=hub_db, queue=queue)
            env.update(office.connection_env(), DELAYHUB_TODAY=dt.date.today().isoformat())
            env.pop("DELAYHUB_MAPPINGS", None)
            stack = Stack(env, tmp_path / "stack", workers=2, concurrency=2)
            try:
                stack.migrate()
                stack.start()
                stack.wait_healthy()
                api = AirflowApi.simple_auth(stack.api_url, Path(env["AIRFLOW_HOME"]))
                api.wait_for_dags([INGEST, "notice_sweep"])
                runs = []
                for dag_id in (INGEST, "notice_sweep"):  # the sweep reads what the ingest stored
                    run = (dag_id, api.trigger(dag_id))
                    state = api.wait_runs([run], RUN_TIMEOUT, stack)[run]
                    assert state == "success", f"{dag_id} ended {state}:\n{stack.tails()}"
                    runs.append(run)
            finally:
                stack.stop()
            assert_hub_store(env["DELAYHUB_DATABASE_URL"], read=len(office.dbd))
            assert_ran_on_celery_workers(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], runs, queue, stack)
            assert_no_national_id_in_logs(tmp_path, [r["applicant"]["pid"] for r in office.dbd])
    finally:
        office.stop()


def assert_hub_store(url: str, read: int) -> None:
    from delayhub.store.models import JobRun, Outbox, Quarantine, Request

    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            jobs = {row.job: row for row in conn.execute(sqlalchemy.select(JobRun))}
            ingest, sweep = jobs["ingest"], jobs["sweep"]
            assert ingest.status == "success" and ingest.subject == "moc-dbd-registration"
            assert ingest.stats["read"] == read, "every record the back office serves was read"
            stored = conn.scalar(sqlalchemy.select(sqlalchemy.func.count()).select_from(Request)
                                 .where(Request.source_connector == "moc-dbd-registration"))
            quarantined = conn.scalar(sqlalchemy.select(sqlalchemy.func.count()).select_from(Quarantine))
            assert stored > 0 and quarantined > 0 and stored + quarantined == read
            assert sweep.status == "success"
            outbox = dict(conn.execute(sqlalchemy.select(Outbox.status, sqlalchemy.func.count())
                                       .group_by(Outbox.status)).all())
            assert outbox.get("queued", 0) > 0 and outbox == {"queued": sweep.stats["outbox_added"]}, outbox
            channels = set(conn.scalars(sqlalchemy.select(Outbox.channel).distinct()))
            assert "opdc" in channels, "every notice has its copy to the OPDC"
    finally:
        engine.dispose()


def assert_ran_on_celery_workers(url: str, runs: list[tuple[str, str]], queue: str, stack: Stack) -> None:
    """Each task instance went through our queue to a Celery task the result backend (PostgreSQL)
    recorded as done, and one of the two workers' logs shows it succeed there."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            tis = conn.execute(sqlalchemy.text(
                "SELECT dag_id, task_id, state, queue, external_executor_id FROM task_instance "
                "WHERE run_id = ANY(:runs)"), {"runs": [r for _, r in runs]}).all()
            done = dict(conn.execute(sqlalchemy.text("SELECT task_id, status FROM celery_taskmeta")).all())
    finally:
        engine.dispose()
    assert {ti.dag_id for ti in tis} == {d for d, _ in runs}
    logs = {name: stack.tail(name, 10_000_000) for name in ("worker1", "worker2")}
    for ti in tis:
        assert ti.state == "success" and ti.queue == queue, ti
        assert done.get(ti.external_executor_id) == "SUCCESS", f"{ti.dag_id}: no Celery result {ti}"
        ran_on = [w for w, text in logs.items() if f"execute_workload[{ti.external_executor_id}] succeeded" in text]
        assert len(ran_on) == 1, f"{ti.dag_id}.{ti.task_id} ran on {ran_on or 'no worker'}"


def assert_no_national_id_in_logs(tmp: Path, national_ids: list[str]) -> None:
    """Personal data is never logged in clear: not by the processes, not in the task logs."""
    for path in [*(tmp / "stack").glob("*.log"), *(tmp / "airflow" / "logs").rglob("*")]:
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [nid for nid in national_ids if nid in text]
            assert not leaked, f"{len(leaked)} national ID(s) in clear in {path.relative_to(tmp)}"
