"""The DAG folder as Airflow sees it: parsed by Airflow's own DagBag in a separate process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from delayhub.mapping import mapping_files

ROOT = Path(__file__).resolve().parents[1]
# Records every file opened and every connection made while the DagBag parses (not while Airflow
# itself is imported), the DAGs' serialized hashes, and the order ingest.py generated its DAGs in.
PROBE = """
import json, sys
from airflow.configuration import conf
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import LazyDeserializedDAG
touched = []
def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        touched.append(("open", args[0]))
    elif event in ("socket.connect", "sqlite3.connect"):
        touched.append((event, repr(args[1:] if event == "socket.connect" else args)))
sys.addaudithook(audit)
bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
parsed = list(touched)
ingest = next(m for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").endswith("dags/ingest.py"))
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {d.dag_id: {"owner": d.owner, "tags": sorted(d.tags), "doc": d.doc_md or "",
                        "schedule": str(d.schedule), "catchup": d.catchup, "max_active_runs": d.max_active_runs,
                        "tasks": [t.task_id for t in d.tasks], "retries": [t.retries for t in d.tasks],
                        "backoff": [t.retry_exponential_backoff for t in d.tasks],
                        "failure_alert": [bool(t.on_failure_callback) for t in d.tasks],
                        "hash": LazyDeserializedDAG.from_dag(d).hash}
             for d in bag.dags.values()},
    "generated": [name for name, value in vars(ingest).items() if isinstance(value, DAG)],
    "touched": [(kind, what) for kind, what in parsed
                if kind != "open" or not (what.endswith((".py", ".pyc", ".so")) or "/python3" in what)],
}))
"""

pytestmark = pytest.mark.airflow


def airflow_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DELAYHUB_ROOT=str(ROOT), AIRFLOW_HOME=str(tmp_path / "airflow"),
               AIRFLOW_CONFIG=str(ROOT / "airflow.cfg"), DELAYHUB_VAR=str(tmp_path / "var"), **extra)
    return env


def dagbag(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_dag_file_imports_and_each_mapping_has_its_ingest_dag(tmp_path: Path) -> None:
    bag = dagbag(airflow_env(tmp_path))
    assert bag["errors"] == {}
    expected = {f"ingest_{p.stem.replace('-', '_')}" for p in mapping_files()}
    assert expected == {d for d in bag["dags"] if d.startswith("ingest_")}
    assert {"notice_sweep", "dispatch_notices", "queue_tick"} <= set(bag["dags"])
    dbd = bag["dags"]["ingest_moc_dbd_registration"]
    assert dbd["owner"] == "MOC-DBD กรมพัฒนาธุรกิจการค้า", "the owner is the department, by code and name"
    assert {"delayhub", "ingest", "MOC", "MOC-DBD", "rest"} <= set(dbd["tags"]), "ministry, department, kind"
    mapping_text = (ROOT / "mappings" / "moc-dbd-registration.yaml").read_text(encoding="utf-8")
    assert f"```yaml\n{mapping_text.rstrip()}\n```" in dbd["doc"], "the DAG's docs show its whole mapping file"
    assert "กรมพัฒนาธุรกิจการค้า" in dbd["doc"] and "`moc_dbd_backoffice`" in dbd["doc"]
    for dag in bag["dags"].values():
        assert dag["retries"] == [3] * len(dag["tasks"])
        assert all(b >= 2 for b in dag["backoff"]), "retries wait longer each time"
        assert all(dag["failure_alert"]), "a task that fails for good alerts the operators"


def test_parsing_reads_only_mappings_and_the_registry_in_a_stable_order(tmp_path: Path) -> None:
    env = airflow_env(tmp_path)
    first = dagbag({**env, "PYTHONHASHSEED": "1"})
    second = dagbag({**env, "PYTHONHASHSEED": "2"})
    assert first["generated"] == [f"ingest_{p.stem.replace('-', '_')}" for p in mapping_files()], "file-name order"
    assert {d: v["hash"] for d, v in first["dags"].items()} == {d: v["hash"] for d, v in second["dags"].items()}, \
        "parsing again gives the same serialized DAGs"
    allowed = (ROOT / "mappings", ROOT / "schemas", ROOT / "data" / "registry" / "agencies.json",
               Path("/usr/share/zoneinfo"))
    unexpected = [(kind, what) for kind, what in first["touched"]
                  if kind != "open" or not any(Path(what).is_relative_to(a) for a in allowed)]
    assert unexpected == [], "parsing the DAG folder opens no database, socket or other file"
    assert any(what.endswith("agencies.json") for _, what in first["touched"])


def test_a_broken_mapping_file_hides_no_other_agency(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(ROOT / "mappings" / "moc-dbd-registration.yaml", folder)
    (folder / "broken-agency.yaml").write_text("id: broken-agency\ntitle: x\n", encoding="utf-8")
    bag = dagbag(airflow_env(tmp_path, DELAYHUB_MAPPINGS=str(folder)))
    assert bag["errors"] == {}
    assert sorted(d for d in bag["dags"] if d.startswith("ingest_")) == ["ingest_moc_dbd_registration"]


def test_a_broken_registry_costs_the_owners_their_names_not_the_dags(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "agencies.json").write_text("{not json", encoding="utf-8")
    bag = dagbag(airflow_env(tmp_path, DELAYHUB_REGISTRY=str(registry)))
    assert bag["errors"] == {}
    assert bag["dags"]["ingest_moc_dbd_registration"]["owner"] == "MOC-DBD"


def test_the_queue_tick_runs_every_five_minutes_one_run_at_a_time(tmp_path: Path) -> None:
    tick = dagbag(airflow_env(tmp_path))["dags"]["queue_tick"]
    assert tick["schedule"] == "*/5 * * * *" and tick["catchup"] is False and tick["max_active_runs"] == 1
    assert tick["tasks"] == ["queue_tick"] and tick["owner"] == "opdc"
    assert {"delayhub", "queue"} <= set(tick["tags"])
    assert tick["doc"].startswith("### ระบบการจองคิวกลาง") and "python -m delayhub.queueing tick" in tick["doc"]


def test_the_queue_tasks_work_is_the_command_lines_and_a_broken_file_fails_it_after_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAYHUB_ROOT", str(ROOT))
    monkeypatch.setenv("DELAYHUB_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("DELAYHUB_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW_CONFIG", str(ROOT / "airflow.cfg"))
    monkeypatch.setenv("DELAYHUB_WEB_SECRET", "dag-test-secret-" + "d" * 40)
    monkeypatch.setenv("DELAYHUB_NOW", "2026-11-25T13:05:00+07:00")
    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    from airflow.sdk.exceptions import AirflowFailException
    from delayhub_airflow.tasks import run_queue_tick

    try:
        # every agency's afternoon web places to walk-ins, as `python -m delayhub.queueing tick` does
        assert run_queue_tick() == {"closed": 0, "released": 0, "handed_over": 108, "reminded": 0,
                                    "codes_scrubbed": 0}
        folder = tmp_path / "queue"
        folder.mkdir()
        shutil.copy(ROOT / "data" / "queue" / "MOC-DBD.yaml", folder)
        (folder / "MOI-DPT-BCD.yaml").write_text("agency: MOI-DPT-BCD\n", encoding="utf-8")
        monkeypatch.setenv("DELAYHUB_QUEUE_SETTINGS", str(folder))
        with pytest.raises(AirflowFailException, match=r"MOI-DPT-BCD\.yaml: location"):
            run_queue_tick()
    finally:
        sys.modules.pop("delayhub_airflow.tasks", None)
