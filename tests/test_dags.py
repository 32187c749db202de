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
PROBE = """
import json
from airflow.configuration import conf
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": {d.dag_id: {"owner": d.owner, "tags": sorted(d.tags), "doc": d.doc_md or "",
                        "tasks": [t.task_id for t in d.tasks], "retries": [t.retries for t in d.tasks]}
             for d in bag.dags.values()},
}))
"""

pytestmark = pytest.mark.airflow


def airflow_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DELAYHUB_ROOT=str(ROOT), AIRFLOW_HOME=str(tmp_path / "airflow"),
               AIRFLOW_CONFIG=str(ROOT / "airflow.cfg"), DELAYHUB_VAR=str(tmp_path / "var"), **extra)
    return env


def dagbag(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_every_dag_file_imports_and_each_mapping_has_its_ingest_dag(tmp_path: Path) -> None:
    bag = dagbag(airflow_env(tmp_path))
    assert bag["errors"] == {}
    expected = {f"ingest_{p.stem.replace('-', '_')}" for p in mapping_files()}
    assert expected == {d for d in bag["dags"] if d.startswith("ingest_")}
    assert {"notice_sweep", "dispatch_notices"} <= set(bag["dags"])
    dbd = bag["dags"]["ingest_moc_dbd_registration"]
    assert dbd["owner"] == "MOC-DBD"
    assert {"delayhub", "ingest", "MOC-DBD", "rest"} <= set(dbd["tags"])
    assert "connection_id: moc_dbd_backoffice" in dbd["doc"], "the DAG's docs show its mapping file"
    assert dbd["retries"] == [3]


def test_a_broken_mapping_file_hides_no_other_agency(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(ROOT / "mappings" / "moc-dbd-registration.yaml", folder)
    (folder / "broken-agency.yaml").write_text("id: broken-agency\ntitle: x\n", encoding="utf-8")
    bag = dagbag(airflow_env(tmp_path, DELAYHUB_MAPPINGS=str(folder)))
    assert bag["errors"] == {}
    assert sorted(d for d in bag["dags"] if d.startswith("ingest_")) == ["ingest_moc_dbd_registration"]
