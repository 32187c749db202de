"""Airflow as the OPDC runs it: ``airflow standalone`` started the way ``make airflow`` starts it
(API server, scheduler, DAG processor, triggerer), in a temporary AIRFLOW_HOME with its own SQLite
metadata database and hub store, driven over the REST API like an operator's script.

The demo REST back office serves two agencies: DBD's Connection is right, FDA's holds a wrong
password. Both ingest DAGs are triggered; DBD's records must land in the hub store, FDA's run
must fail at once (no retry can fix refused credentials) and email the operators, Thai first.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import requests

from delayhub import config
from delayhub.sinks import SmtpSink
from delayhub.store import HubStore
from delayhub.store.models import Request
from demo.backoffice import FDA_USER, BackOffice

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))  # deploy/ is a folder of tools, not an installed package
from single_host import AirflowApi, Stack, free_port  # noqa: E402

LAUNCHER = ROOT / "plugins" / "delayhub_airflow" / "standalone.py"
DBD, FDA = "ingest_moc_dbd_registration", "ingest_moph_fda_esubmission"
OPS = "ops@delayhub.example.go.th"
WRONG_PASSWORD = "not-the-fda-password"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# Generous: two cores shared with other work. Nothing here asserts how long anything takes.
START_TIMEOUT, RUN_TIMEOUT = 300, 420

pytestmark = pytest.mark.airflow


class Standalone(Stack):
    """``make airflow``'s launcher, started, watched and stopped (SIGINT to its process group) like
    the production stack's processes."""

    def commands(self) -> dict[str, list[str]]:
        return {"standalone": [sys.executable, str(LAUNCHER)]}


@dataclass
class Live:
    stack: Standalone
    api: AirflowApi
    var: Path
    mail: Path
    office: BackOffice

    def get(self, path: str) -> Any:
        answer = self.api.session.get(f"{self.api.url}{path}", timeout=60)
        assert answer.ok, f"GET {path}: {answer.status_code} {answer.text[:500]}"
        return answer.json()

    def eventually(self, what: str, probe: Callable[[], Any], timeout: float = RUN_TIMEOUT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.stack.check_alive()
            if found := probe():
                return found
            time.sleep(2)
        pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}\n{self.stack.tails()}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Airflow healthy with both DAGs parsed, and an operator logged in as admin with the password
    standalone generated."""
    tmp = tmp_path_factory.mktemp("airflow-live")
    home, var, mail = tmp / "airflow", tmp / "var", tmp / "mail"
    office = BackOffice(config.today()).start()
    sink = SmtpSink(mail).start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DELAYHUB_"))}
    env.update(office.connection_env())
    env.update(
        DELAYHUB_ROOT=str(ROOT), DELAYHUB_VAR=str(var), AIRFLOW_HOME=str(home),
        AIRFLOW_CONFIG=str(ROOT / "airflow.cfg"),
        AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}",  # tasks reach the execution API here
        AIRFLOW_CONN_MOPH_FDA_ESUBMISSION=json.dumps({"conn_type": "http", "host": office.host, "port": office.port,
                                                      "login": FDA_USER, "password": WRONG_PASSWORD}),
        AIRFLOW_CONN_DELAYHUB_SMTP=json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": sink.port}),
        DELAYHUB_OPS_EMAIL=OPS,
    )
    stack = Standalone(env, tmp / "logs")
    try:
        stack.start()
        stack.wait_healthy(START_TIMEOUT)
        api = AirflowApi.simple_auth(stack.api_url, home)
        api.wait_for_dags([DBD, FDA], START_TIMEOUT)
        yield Live(stack, api, var, mail, office)
    finally:
        stack.stop()  # SIGINT first: the launcher hands it to standalone, which stops every component
        left = survivors(home)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        sink.stop()
        office.stop()
    assert not left, f"still running after the SIGINT: {left}\n{stack.tails()}"


def survivors(home: Path) -> list[int]:
    """Processes still running with this test's AIRFLOW_HOME: only ones this test started have it."""
    marker = f"AIRFLOW_HOME={home}".encode() + b"\0"
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.fixture(scope="module")
def runs(live: Live) -> dict[str, str]:
    """Both DAGs unpaused and triggered at once, as an operator's script does; their run ids."""
    out = {}
    for dag_id in (DBD, FDA):
        live.api.unpause(dag_id)
        out[dag_id] = live.api.trigger(dag_id)
    return out


def finished(live: Live, dag_id: str, run_id: str) -> tuple[str, dict[str, Any]]:
    """The run's final state and its ingest task instance."""
    state = live.api.wait_runs([(dag_id, run_id)], RUN_TIMEOUT, live.stack)[(dag_id, run_id)]
    (ti,) = [t for t in live.api.task_instances(dag_id, run_id) if t["task_id"] == "ingest"]
    return state, ti


def test_each_dag_shows_its_agency_and_nothing_fails_to_import(live: Live) -> None:
    assert live.get("/api/v2/importErrors")["total_entries"] == 0
    assert live.get("/api/v2/plugins/importErrors")["total_entries"] == 0
    details = live.get(f"/api/v2/dags/{DBD}/details")
    assert details["owners"] == ["MOC-DBD กรมพัฒนาธุรกิจการค้า"]
    assert {"MOC", "MOC-DBD", "rest"} <= {t["name"] for t in details["tags"]}
    mapping = (ROOT / "mappings" / "moc-dbd-registration.yaml").read_text(encoding="utf-8")
    assert f"```yaml\n{mapping.rstrip()}\n```" in details["doc_md"]
    assert "demo-dbd-key" not in details["doc_md"], "the key stays in the Connection"
    # The plugin's push intake is served by the same API server, without Airflow's login.
    assert requests.get(f"{live.api.url}/intake/v1/health", timeout=30).ok
    # …and so is the people's web application, its links under the mount's prefix.
    page = requests.get(f"{live.api.url}/delayhub/login", timeout=30)
    assert page.ok and 'lang="th"' in page.text and 'action="/delayhub/login"' in page.text


def test_an_operator_triggers_an_agency_and_its_requests_land_in_the_hub(live: Live, runs: dict[str, str]) -> None:
    state, ti = finished(live, DBD, runs[DBD])
    assert state == "success", f"{ti}\n{live.stack.tails()}"
    store = HubStore.open(f"sqlite:///{live.var / 'delayhub.db'}")
    try:
        # Unpausing an hourly DAG also starts the latest scheduled run: one run reads everything, the
        # other finds it all known already.
        jobs = [j for j in store.job_runs_since(EPOCH) if j.subject == "moc-dbd-registration"]
        stored = store.counts(Request, Request.source_connector)
    finally:
        store.close()
    assert jobs and all(j.status == "success" for j in jobs)
    first = jobs[0].stats
    assert first["read"] == len(live.office.dbd), "every record the back office holds was read"
    assert first["stored"] > 0 and first["stored"] + first["quarantined"] == first["read"]
    assert stored.get("moc-dbd-registration") == sum(j.stats["stored"] for j in jobs) == first["stored"]


def test_refused_credentials_fail_at_once_and_the_operators_are_told(live: Live, runs: dict[str, str]) -> None:
    state, ti = finished(live, FDA, runs[FDA])
    assert (state, ti["state"], ti["try_number"]) == ("failed", "failed", 1), "no retry for refused credentials"

    def mails() -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(p.read_bytes(), policy=default_policy)  # type: ignore[misc]
                for p in sorted(live.mail.glob("*.eml"))]

    def alert() -> email.message.EmailMessage | None:
        return next((m for m in mails() if runs[FDA] in m.get_body(("plain",)).get_content()), None)

    msg = live.eventually("the failure alert email of the triggered run", alert)
    assert msg["To"] == OPS
    assert "สำนักงานคณะกรรมการอาหารและยา" in msg["Subject"] and "moph-fda-esubmission" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    thai, _, english = body.partition("— English —")
    assert "ปฏิเสธรหัสผ่านหรือคีย์" in thai and "ไม่ลองซ้ำ" in thai and "moph_fda_esubmission" in thai
    assert "refused our credentials" in english and "not retried" in english
    assert WRONG_PASSWORD not in body
    assert all(FDA in str(m["Message-ID"]) for m in mails()), "the DAG that succeeded alerts nobody"
