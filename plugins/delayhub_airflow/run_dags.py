"""Run DAGs once, in order, in this process with ``dag.test()``: no scheduler needed.

    python plugins/delayhub_airflow/run_dags.py ingest_moc_dbd_registration notice_sweep

Prints one JSON line per DAG run ({"dag_id", "state"}); exits 1 if a DAG fails or a DAG file
has an import error. ``delayhub demo`` uses it.
"""

from __future__ import annotations

import json
import sys


def main(dag_ids: list[str]) -> int:
    from airflow.configuration import conf
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=conf.get("core", "dags_folder"))
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(json.dumps({"import_error": path, "error": error}), flush=True)
        return 1
    failed = 0
    for dag_id in dag_ids or sorted(bag.dag_ids):
        dag = bag.get_dag(dag_id)
        if dag is None:
            print(json.dumps({"dag_id": dag_id, "state": "missing"}), flush=True)
            failed += 1
            continue
        run = dag.test()
        state = str(getattr(run.state, "value", run.state))
        print(json.dumps({"dag_id": dag_id, "state": state}), flush=True)
        failed += state != "success"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
