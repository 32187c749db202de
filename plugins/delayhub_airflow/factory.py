"""Build DAG objects from mappings; the files in dags/ only call these."""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import DAG, dag, task

from delayhub.mapping import Mapping

START = pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok")
DEFAULT_ARGS = {"retries": 3, "retry_delay": dt.timedelta(minutes=1), "retry_exponential_backoff": True,
                "max_retry_delay": dt.timedelta(minutes=30)}


def ingest_dag(mapping: Mapping) -> DAG:
    doc = (f"### {mapping.title}\n\nIngest from `{mapping.file.name}` "
           f"({mapping.source['type']}, connection `{mapping.source.get('connection_id') or 'none'}`).\n\n"
           f"```yaml\n{mapping.text}\n```")

    @dag(dag_id=mapping.dag_id, schedule=mapping.schedule, start_date=START, catchup=False, max_active_runs=1,
         tags=["delayhub", "ingest", mapping.agency["department"], *mapping.tags], doc_md=doc,
         default_args={**DEFAULT_ARGS, "owner": mapping.agency["department"]})
    def _ingest() -> None:
        @task(task_id="ingest")
        def run(mapping_file: str) -> dict:
            from delayhub_airflow.tasks import run_ingest

            return run_ingest(mapping_file)

        run(str(mapping.file))

    return _ingest()


def core_dag(dag_id: str, schedule: str, doc: str, func_name: str) -> DAG:
    @dag(dag_id=dag_id, schedule=schedule, start_date=START, catchup=False, max_active_runs=1,
         tags=["delayhub"], doc_md=doc, default_args={**DEFAULT_ARGS, "owner": "opdc"})
    def _core() -> None:
        @task(task_id=func_name.removeprefix("run_"))
        def run() -> dict:
            from delayhub_airflow import tasks

            return getattr(tasks, func_name)()

        run()

    return _core()
