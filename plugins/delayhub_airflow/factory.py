"""Build DAG objects from mappings; the files in dags/ only call these.

Nothing here opens the hub store or the network: building a DAG reads only what it is given
(the mapping and the agency registry), since Airflow builds them on every parse.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping as ReadOnly
from functools import partial
from typing import Any

import pendulum
from airflow.sdk import DAG, dag, task

from delayhub.config import registry_dir
from delayhub.errors import ConfigError
from delayhub.mapping import Mapping
from delayhub.registry import Agency, load_agencies

START = pendulum.datetime(2026, 1, 1, tz="Asia/Bangkok")
# Transient failures retry after 1-2, 2-4, 4-8 minutes (Airflow 3 takes the backoff as a multiplier:
# True would mean 1, a constant delay). Permanent ones never get here: the task fails at once.
DEFAULT_ARGS = {"retries": 3, "retry_delay": dt.timedelta(minutes=1), "retry_exponential_backoff": 2.0,
                "max_retry_delay": dt.timedelta(minutes=30)}
HUB_OWNER = "opdc"

log = logging.getLogger(__name__)


def agencies() -> dict[str, Agency]:
    """The registry's agencies (only ``agencies.json``: the manuals are not needed to name an owner).

    A broken registry costs the owners their names, never the DAGs: it is logged and codes are used.
    """
    try:
        return load_agencies(registry_dir() / "agencies.json")
    except ConfigError as exc:
        log.error("agency names unavailable, DAG owners show codes only: %s", exc)
        return {}


def _on_failure(mapping_file: str | None, context: Any) -> None:
    from delayhub_airflow.alerts import on_task_failure  # imported only when a task fails

    on_task_failure(mapping_file, context)


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, so the file shows whole."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def ingest_doc(mapping: Mapping, known: ReadOnly[str, Agency]) -> str:
    """The DAG's page in Airflow: who and what, Thai first, then the mappings file as it is
    (mappings hold no secrets: those live in the Connection)."""
    department, ministry = mapping.agency["department"], mapping.agency["ministry"]
    dep_name = known[department].name if department in known else department
    min_name = known[ministry].name if ministry in known else ministry
    conn = mapping.source.get("connection_id")
    fence = _fence(mapping.text)
    return "\n".join([
        f"### {mapping.title}",
        "",
        "ดึงคำขอจากระบบงานของหน่วยงานเข้าสู่ delayhub ตามรอบที่กำหนด · Reads the agency's requests into the hub.",
        "",
        "| | |",
        "|---|---|",
        f"| หน่วยงาน · agency | {dep_name} (`{department}`), {min_name} (`{ministry}`) |",
        f"| ตัวเชื่อมต่อ · connector | `{mapping.id}` ({mapping.source['type']}) |",
        f"| Airflow Connection | `{conn}` |" if conn else "| Airflow Connection | - |",
        f"| รอบการดึง · schedule | `{mapping.schedule}` |",
        "",
        f"ตรวจสอบ · check: `delayhub connector test mappings/{mapping.file.name}`",
        "",
        f"#### mappings/{mapping.file.name}",
        "",
        f"{fence}yaml",
        mapping.text.rstrip("\n"),
        fence,
    ])


def ingest_dag(mapping: Mapping, known: ReadOnly[str, Agency]) -> DAG:
    """``ingest_<id>``: owned by the agency's department, tagged by ministry, department and connector kind."""
    department, ministry = mapping.agency["department"], mapping.agency["ministry"]
    owner = f"{department} {known[department].name}" if department in known else department
    tags: list[str] = []
    for tag in ["delayhub", "ingest", ministry, department, mapping.source["type"], *mapping.tags]:
        if tag.casefold() not in {t.casefold() for t in tags}:  # the mapping's "moc" beside our "MOC"
            tags.append(tag)

    @dag(dag_id=mapping.dag_id, schedule=mapping.schedule, start_date=START, catchup=False, max_active_runs=1,
         tags=tags, doc_md=ingest_doc(mapping, known), default_args={**DEFAULT_ARGS, "owner": owner})
    def _ingest() -> None:
        @task(task_id="ingest", on_failure_callback=partial(_on_failure, str(mapping.file)))
        def run(mapping_file: str) -> dict:
            from delayhub_airflow.tasks import run_ingest

            return run_ingest(mapping_file)

        run(str(mapping.file))

    return _ingest()


def core_dag(dag_id: str, schedule: str, doc: str, func_name: str, tags: tuple[str, ...] = (),
             also: tuple[str, ...] = ()) -> DAG:
    """One task per function of ``delayhub_airflow.tasks`` (``run_sweep`` → task ``sweep``). Those in
    ``also`` run beside ``func_name``, not after it: each retries and alerts on its own, and one failing
    never keeps another from running."""
    @dag(dag_id=dag_id, schedule=schedule, start_date=START, catchup=False, max_active_runs=1,
         tags=["delayhub", *tags], doc_md=doc, default_args={**DEFAULT_ARGS, "owner": HUB_OWNER})
    def _core() -> None:
        for name in (func_name, *also):
            @task(task_id=name.removeprefix("run_"), on_failure_callback=partial(_on_failure, None))
            def run(name: str = name) -> dict:
                from delayhub_airflow import tasks

                return getattr(tasks, name)()

            run()

    return _core()
