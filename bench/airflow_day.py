"""A full day's run for 50 agencies through Airflow on this machine: LocalExecutor against Celery.

Makes 50 agencies (copies of the registry's DBD, FDA and DPT departments with their divisions and
manuals, under new codes) with one mappings file each, every one against its own demo back office
(REST with an API key and page numbers, REST with basic auth and next links, SOAP), the Connections
as AIRFLOW_CONN_* variables. Then, for each executor, on fresh PostgreSQL databases for Airflow's
metadata and the hub store: starts the production profile (deploy/production.env; Celery: Redis,
two workers of --slots/2; LocalExecutor: the same slots in one scheduler), triggers the 50 ingest
DAGs through the REST API, and the notice sweep once they have all finished, and measures the wall
time from the first trigger to the sweep's success. The peer: the same 50 ingests and sweep called
one after another in one Python process, without Airflow.
Prints one JSON line. Usage: .venv/bin/python bench/airflow_day.py [-n 50] [--slots 4]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))  # deploy/ is a folder of tools, not an installed package
from single_host import (  # noqa: E402
    AirflowApi,
    Stack,
    StackError,
    read_env_file,
    scratch_databases,
    trial_env,
)

from delayhub.mapping import dag_id_for  # noqa: E402
from demo.backoffice import BackOffice  # noqa: E402
from demo.soap_backoffice import SoapBackOffice  # noqa: E402

PG_ADMIN_URL = os.environ.get("DELAYHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BASES = ("moc-dbd-registration", "moph-fda-esubmission", "moi-dpt-permits")
RUN_TIMEOUT = 3600

# The peer: the DAGs' own task callables, in one process, in the same order.
IN_PROCESS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from delayhub_airflow.tasks import run_ingest, run_sweep
files = json.loads(sys.argv[2])
t = time.perf_counter()
for f in files:
    run_ingest(f)
ingest_s = time.perf_counter() - t
run_sweep()
print(json.dumps({"ingest_seconds": ingest_s, "day_seconds": time.perf_counter() - t}))
"""


def clone_registry(src: Path, dst: Path, departments: dict[str, str]) -> None:
    """The registry plus each new department, a copy of an existing one's divisions and manuals.
    ``departments`` maps each new department code to the one it copies."""
    dst.mkdir(parents=True)
    data = json.loads((src / "agencies.json").read_text(encoding="utf-8"))
    by_code = {d["code"]: (m, d) for m in data["ministries"] for d in m["departments"]}
    for new, old in departments.items():
        ministry, dept = by_code[old]
        copy = json.loads(json.dumps(dept).replace(f'"{old}', f'"{new}'))
        copy["name"] = f"{dept['name']} ({new})"
        ministry["departments"].append(copy)
    (dst / "agencies.json").write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    with (src / "manuals.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    divisions = {d["code"]: dept for _, dept in by_code.values() for d in dept.get("divisions", [])}
    extra = []
    for new, old in departments.items():
        for row in rows:
            if divisions.get(row["division"], {}).get("code") == old:
                extra.append({**row, "manual_id": row["manual_id"].replace(old, new, 1),
                              "division": row["division"].replace(old, new, 1)})
    with (dst / "manuals.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows + extra)


def agency_mapping(base: dict[str, Any], k: int, manuals: list[str]) -> dict[str, Any]:
    """Agency ``k``'s mapping: ``base`` with the new department's codes and its own Connection."""
    old = base["agency"]["department"]
    new = f"{old}-A{k:02d}"
    data = json.loads(json.dumps(base))
    data["id"] = f"{base['id']}-a{k:02d}"
    data["title"] = f"{base['title']} ({new})"
    data["agency"]["department"] = new
    data["source"]["connection_id"] = f"{base['source']['connection_id']}_{k:02d}"
    fields = data["fields"]
    division = fields.get("agency.division")
    if isinstance(division, dict) and division.get("map"):
        division["map"] = {key: v.replace(old, new, 1) for key, v in division["map"].items()}
    manual = fields["manual_id"]
    if isinstance(manual, dict) and manual.get("map"):
        manual["map"] = {key: v.replace(old, new, 1) for key, v in manual["map"].items()}
    else:
        fields["manual_id"] = {"path": manual if isinstance(manual, str) else manual["path"],
                               "map": {m: m.replace(old, new, 1) for m in manuals}}
    return data


def agencies(n: int, work: Path, today: dt.date) -> tuple[Path, Path, list[Path], dict[str, str], list[Any]]:
    """n mappings, the registry they need, and n running back offices with their Connections."""
    bases = {b: yaml.safe_load((ROOT / "mappings" / f"{b}.yaml").read_text(encoding="utf-8")) for b in BASES}
    with (ROOT / "data" / "registry" / "manuals.csv").open(encoding="utf-8-sig", newline="") as fh:
        all_manuals = [r["manual_id"] for r in csv.DictReader(fh)]
    mappings, files, env, offices, departments = work / "mappings", [], {}, [], {}
    mappings.mkdir()
    for k in range(1, n + 1):
        base = bases[BASES[(k - 1) % len(BASES)]]
        old = base["agency"]["department"]
        data = agency_mapping(base, k, [m for m in all_manuals if m.startswith(old + "-")])
        departments[data["agency"]["department"]] = old
        path = mappings / f"{data['id']}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        files.append(path)
        office = (SoapBackOffice(today) if base["source"]["type"] == "soap" else BackOffice(today)).start()
        offices.append(office)
        conn = office.connection_env()[f"AIRFLOW_CONN_{base['source']['connection_id'].upper()}"]
        env[f"AIRFLOW_CONN_{data['source']['connection_id'].upper()}"] = conn
    registry = work / "registry"
    clone_registry(ROOT / "data" / "registry", registry, departments)
    return mappings, registry, files, env, offices


def hub_figures(url: str) -> dict[str, int]:
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            count = lambda table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()  # noqa: E731
            return {"requests": count("requests"), "quarantined": count("quarantine"), "outbox": count("outbox")}
    finally:
        engine.dispose()


def airflow_day(executor: str, slots: int, work: Path, dag_ids: list[str], extra_env: dict[str, str]) -> dict:
    tag = uuid.uuid4().hex[:8]
    airflow_db, hub_db = f"delayhub_bench_af_{tag}", f"delayhub_bench_hub_{tag}"
    with scratch_databases(PG_ADMIN_URL, airflow_db, hub_db):
        env = trial_env(read_env_file(), root=ROOT, work=work, server_url=PG_ADMIN_URL, airflow_db=airflow_db,
                        hub_db=hub_db, queue=f"delayhub-bench-{tag}")
        env.update(extra_env, AIRFLOW__CORE__EXECUTOR=executor, AIRFLOW__CORE__PARALLELISM=str(slots),
                   AIRFLOW__CELERY__WORKER_CONCURRENCY=str(max(1, slots // 2)))
        stack = Stack(env, work / "stack", workers=2, concurrency=max(1, slots // 2))
        started = time.perf_counter()
        try:
            stack.migrate()
            stack.start()
            stack.wait_healthy()
            api = AirflowApi.simple_auth(stack.api_url, Path(env["AIRFLOW_HOME"]))
            api.wait_for_dags([*dag_ids, "notice_sweep"])
            ready = time.perf_counter()
            ingests = [(d, api.trigger(d)) for d in dag_ids]
            states = api.wait_runs(ingests, RUN_TIMEOUT, stack, poll=1)
            ingested = time.perf_counter()
            sweep = ("notice_sweep", api.trigger("notice_sweep"))
            states.update(api.wait_runs([sweep], RUN_TIMEOUT, stack, poll=1))
            done = time.perf_counter()
        finally:
            stack.stop()
        failed = sorted(d for (d, _), s in states.items() if s != "success")
        if failed:
            print(f"{executor}: {len(failed)} run(s) failed, e.g. {failed[:3]}; logs in {stack.log_dir}",
                  file=sys.stderr)
        per_worker = {f"worker{i}": stack.tail(f"worker{i}", 100_000_000).count("] succeeded in")
                      for i in range(1, stack.workers + 1)}
        return {"executor": executor, "slots": slots, "startup_seconds": round(ready - started, 1),
                "day_seconds": round(done - ready, 1), "ingest_seconds": round(ingested - ready, 1),
                "sweep_seconds": round(done - ingested, 1), "failed_runs": len(failed),
                "tasks_per_second": round((len(dag_ids) + 1) / (done - ready), 2),
                **({"tasks_per_worker": per_worker} if stack.workers else {}),
                **hub_figures(env["DELAYHUB_DATABASE_URL"])}


def in_process_day(work: Path, files: list[Path], extra_env: dict[str, str]) -> dict:
    tag = uuid.uuid4().hex[:8]
    hub_db = f"delayhub_bench_hub_{tag}"
    with scratch_databases(PG_ADMIN_URL, hub_db):
        env = trial_env(read_env_file(), root=ROOT, work=work, server_url=PG_ADMIN_URL, airflow_db=hub_db,
                        hub_db=hub_db, queue="unused")
        env.update(extra_env)
        subprocess.run([str(Path(sys.executable).parent / "delayhub"), "migrate"], env=env, check=True,
                       capture_output=True)
        done = subprocess.run([sys.executable, "-c", IN_PROCESS, str(ROOT / "plugins"),
                               json.dumps([str(f) for f in files])], env=env, capture_output=True, text=True,
                              check=False)
        if done.returncode:
            raise SystemExit(f"in-process run failed:\n{done.stderr[-3000:]}")
        times = json.loads(done.stdout.strip().splitlines()[-1])
        return {"day_seconds": round(times["day_seconds"], 1), "ingest_seconds": round(times["ingest_seconds"], 1),
                **hub_figures(env["DELAYHUB_DATABASE_URL"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="agencies (default 50)")
    parser.add_argument("--slots", type=int, default=4,
                        help="task slots: LocalExecutor parallelism, or 2 Celery workers of slots/2 (default 4)")
    args = parser.parse_args()
    today = dt.date.today()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mappings, registry, files, conns, offices = agencies(args.n, work, today)
        extra = {**conns, "DELAYHUB_MAPPINGS": str(mappings), "DELAYHUB_REGISTRY": str(registry),
                 "DELAYHUB_TODAY": today.isoformat()}
        dag_ids = [dag_id_for(f.stem) for f in files]
        try:
            runs = {}
            for executor in ("LocalExecutor", "CeleryExecutor"):
                try:
                    runs[executor] = airflow_day(executor, args.slots, work / executor, dag_ids, extra)
                except StackError as exc:
                    raise SystemExit(f"{executor}: {exc}") from None
            peer = in_process_day(work / "in-process", files, extra)
        finally:
            for office in offices:
                office.stop()
    local, celery = runs["LocalExecutor"], runs["CeleryExecutor"]
    print(json.dumps({
        "bench": "airflow_day", "agencies": args.n, "cores": os.cpu_count(),
        "local_executor_day_seconds": local["day_seconds"], "celery_day_seconds": celery["day_seconds"],
        "local_executor": local, "celery": celery,
        "peer": "the same ingests and sweep called one after another in one process, without Airflow",
        "peer_seconds": peer["day_seconds"], "peer_detail": peer,
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
