"""Airflow's parse time of dags/ with 500 mappings files: the dag-processor's pass and each task's.

Writes 500 variants of the files in mappings/ (the same sources under new ids) to a temp folder
given as DELAYHUB_MAPPINGS, then parses dags/ the way Airflow 3's dag-processor does: every file
in a process forked from one that has Airflow imported, a DagBag of that one file, every DAG
serialised. It also times what every task pays before it runs: re-parsing its DAG file with the
parsing context naming its DAG. The peer is that same parse without the parsing context, which
builds all 500 ingest DAGs each time. Each figure is the median of --repeat forks.
Prints one JSON line. Usage: .venv/bin/python bench/airflow_parse.py [-n 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter so that importing Airflow is measured once, as in the dag-processor,
# and each parse is forked from that parent so each pays delayhub's imports, as there.
PROBE = r"""
import json, os, sys, time
t = time.perf_counter()
from airflow.configuration import conf
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.serialization.serialized_objects import DagSerialization
import_s = time.perf_counter() - t
dags = os.path.join(os.environ["DELAYHUB_ROOT"], "dags")

def parse(path, dag_id):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        if dag_id:
            os.environ["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = dag_id
        t0 = time.perf_counter()
        bag = BundleDagBag(dag_folder=path, bundle_path=dags, bundle_name="dags-folder", load_op_links=False)
        t1 = time.perf_counter()
        for dag in bag.dags.values():
            DagSerialization.to_dict(dag)
        t2 = time.perf_counter()
        os.write(write, json.dumps({"parse": t1 - t0, "serialise": t2 - t1, "dags": len(bag.dags),
                                    "errors": len(bag.import_errors)}).encode())
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))

request = json.loads(sys.argv[1])
out = {"import": import_s, "timeout": conf.getfloat("core", "dag_file_processor_timeout"), "runs": []}
for _ in range(request["repeat"]):
    out["runs"].append({name: parse(os.path.join(dags, name), dag_id) for name, dag_id in request["files"]})
print(json.dumps(out))
"""


def write_variants(n: int, folder: Path) -> list[str]:
    """n mappings files cycling through mappings/*.yaml, each with its own id (and so its own DAG)."""
    sources = sorted((ROOT / "mappings").glob("*.yaml"))
    ids = []
    for i in range(n):
        src = sources[i % len(sources)]
        new_id = f"{src.stem}-{i:04d}"
        text = re.sub(r"^id: .*$", f"id: {new_id}", src.read_text(encoding="utf-8"), count=1, flags=re.M)
        (folder / f"{new_id}.yaml").write_text(text, encoding="utf-8")
        ids.append(new_id)
    return ids


def probe(env: dict[str, str], files: list[tuple[str, str | None]], repeat: int) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps({"files": files, "repeat": repeat})], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"parse probe failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(runs: list[dict], name: str, key: str) -> float:
    return statistics.median(r[name][key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="mappings files (default 500)")
    parser.add_argument("--repeat", type=int, default=3, help="forks per figure; the median is shown (default 3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        mappings = Path(tmp) / "mappings"
        mappings.mkdir()
        ids = write_variants(args.n, mappings)
        env = {**os.environ, "DELAYHUB_ROOT": str(ROOT), "DELAYHUB_MAPPINGS": str(mappings),
               "DELAYHUB_VAR": str(Path(tmp) / "var"), "AIRFLOW_HOME": str(Path(tmp) / "airflow"),
               "AIRFLOW_CONFIG": str(ROOT / "airflow.cfg"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        env.pop("_AIRFLOW_PARSING_CONTEXT_DAG_ID", None)
        files = sorted(p.name for p in (ROOT / "dags").glob("*.py"))
        one_dag = f"ingest_{ids[0].replace('-', '_')}"
        folder = probe(env, [(f, None) for f in files], args.repeat)
        task = probe(env, [("ingest.py", one_dag)], args.repeat)
    runs = folder["runs"]
    per_file = {f: {"parse_seconds": round(median(runs, f, "parse"), 3),
                    "serialise_seconds": round(median(runs, f, "serialise"), 3), "dags": runs[0][f]["dags"]}
                for f in files}
    errors = sum(r[f]["errors"] for r in runs for f in files)
    ingest_total = median(runs, "ingest.py", "parse") + median(runs, "ingest.py", "serialise")
    task_parse = median(task["runs"], "ingest.py", "parse")
    full_parse = median(runs, "ingest.py", "parse")
    print(json.dumps({
        "bench": "airflow_parse", "mappings": args.n, "dags": sum(v["dags"] for v in per_file.values()),
        "import_errors": errors, "airflow_import_seconds": round(folder["import"], 2),
        "dag_processor_seconds": round(sum(v["parse_seconds"] + v["serialise_seconds"]
                                           for v in per_file.values()), 2),
        "ingest_file_seconds": round(ingest_total, 2),
        "per_dag_build_ms": round((full_parse - task_parse) / max(args.n - 1, 1) * 1000, 2),
        "per_dag_serialise_ms": round(median(runs, "ingest.py", "serialise") / args.n * 1000, 2),
        "dag_file_processor_timeout_seconds": folder["timeout"],
        "files": per_file,
        "task_parse_seconds": round(task_parse, 3), "task_parse_dags": task["runs"][0]["ingest.py"]["dags"],
        "peer": "the same task parse without the parsing context (builds every ingest DAG)",
        "peer_seconds": round(full_parse, 3),
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
