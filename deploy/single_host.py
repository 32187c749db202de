"""Run the production profile on one machine: api-server, scheduler, dag-processor, Celery workers.

    set -a; . deploy/production.env; set +a      # after replacing its CHANGE_ME values
    .venv/bin/python deploy/single_host.py --workers 2 --concurrency 2

Brings both databases to the newest schema, starts each Airflow process in its own process group
(output in $AIRFLOW_HOME/stack/<name>.log), waits until the API server reports them healthy, and
stops them all on Ctrl-C. The profile's file gives the defaults; the environment wins. The tests
and benchmarks drive the same class, so what they measure is what this starts.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

PROFILE = Path(__file__).resolve().with_name("production.env")
PLACEHOLDER = "CHANGE_ME"
BIN = Path(sys.executable).parent


def read_env_file(path: Path = PROFILE) -> dict[str, str]:
    """KEY=value lines; blank lines and # comments skipped. No quoting or expansion, as the file says."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=value")
        values[key.strip()] = value.strip()
    return values


def placeholders(env: dict[str, str]) -> list[str]:
    return sorted(k for k, v in env.items() if v == PLACEHOLDER)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_server(url: str, server_url: str, database: str) -> str:
    """``url`` (its scheme and driver kept, ``db+`` too) moved to ``server_url``'s server, naming ``database``."""
    from sqlalchemy.engine import make_url

    prefix = "db+" if url.startswith("db+") else ""
    server = make_url(server_url)
    moved = make_url(url.removeprefix(prefix)).set(host=server.host, port=server.port, username=server.username,
                                                    password=server.password, database=database)
    return prefix + moved.render_as_string(hide_password=False)


@contextmanager
def scratch_databases(admin_url: str, *names: str) -> Iterator[None]:
    """Fresh, empty databases for one trial run, dropped afterwards whatever happened."""
    import sqlalchemy

    admin = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def trial_env(profile: dict[str, str], *, root: Path, work: Path, server_url: str, airflow_db: str, hub_db: str,
              queue: str) -> dict[str, str]:
    """The profile as shipped, with only what a trial run on a shared machine needs apart: its own
    databases, secrets, ports, queue and folders. Scheduled runs are off and DAGs start unpaused,
    so the runs are exactly those the caller triggers."""
    from cryptography.fernet import Fernet

    env = {**os.environ, **profile}
    for key, value in profile.items():
        if value.startswith(("postgresql", "db+postgresql")):
            env[key] = on_server(value, server_url, hub_db if key == "DELAYHUB_DATABASE_URL" else airflow_db)
    env.update({key: secrets.token_urlsafe(32) for key in placeholders(profile)})
    api_port = free_port()
    env.update(
        AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
        DELAYHUB_ROOT=str(root), AIRFLOW_CONFIG=str(root / "airflow.cfg"), AIRFLOW_HOME=str(work / "airflow"),
        DELAYHUB_VAR=str(work / "var"),
        AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()), AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue,
        AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE="False", AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
    )
    return env


class StackError(RuntimeError):
    """A process of the stack died or did not become healthy; the message carries its last output."""


class Stack:
    """The Airflow processes of one installation, started with one environment."""

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 2, concurrency: int = 2) -> None:
        self.env = {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"}
        self.log_dir = log_dir
        self.workers = workers if env.get("AIRFLOW__CORE__EXECUTOR", "") == "CeleryExecutor" else 0
        self.concurrency = concurrency
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env.get('AIRFLOW__API__PORT', '8080')}"

    def migrate(self) -> None:
        """Airflow's metadata and the hub store to the newest schema, before any process uses them."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, cmd in (("airflow-db-migrate", [str(BIN / "airflow"), "db", "migrate"]),
                          ("delayhub-migrate", [str(BIN / "delayhub"), "migrate"])):
            log = self.log_dir / f"{name}.log"
            with log.open("wb") as out:
                done = subprocess.run(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode:
                raise StackError(f"{name} failed:\n{self.tail(name)}")

    def commands(self) -> dict[str, list[str]]:
        airflow = str(BIN / "airflow")
        cmds = {"api-server": [airflow, "api-server"], "scheduler": [airflow, "scheduler"],
                "dag-processor": [airflow, "dag-processor"]}
        for i in range(1, self.workers + 1):
            # Workers on one machine share the log folder: the first serves it, the others would
            # only collide on its port.
            cmds[f"worker{i}"] = [airflow, "celery", "worker", "--concurrency", str(self.concurrency),
                                  "--celery-hostname", f"worker{i}@%h", *(["--skip-serve-logs"] if i > 1 else [])]
        return cmds

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, cmd in self.commands().items():
            with (self.log_dir / f"{name}.log").open("wb") as out:
                # Own session: stopping signals the process and everything it forked.
                self.procs[name] = subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_healthy(self, timeout: float = 300) -> None:
        """Until the API server reports the database, scheduler and dag-processor healthy, and every
        worker said it is ready."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
                last = json.dumps(health)
                parts = [health.get(k, {}).get("status") for k in ("metadatabase", "scheduler", "dag_processor")]
                if all(p == "healthy" for p in parts) and all(
                        " ready." in self.tail(f"worker{i}", 200_000) for i in range(1, self.workers + 1)):
                    return
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(2)
        raise StackError(f"not healthy after {timeout:.0f} s (last: {last})\n{self.tails()}")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise StackError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, size: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        data = path.read_bytes()
        return data[-size:].decode("utf-8", "replace")

    def tails(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.tail(name)}" for name in self.procs)

    def stop(self, grace: float = 30) -> None:
        """SIGINT to each process group, SIGTERM to what is left after the grace, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            alive = [p for p in self.procs.values() if _group_alive(p)]
            for proc in alive:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while alive and time.monotonic() < deadline and any(_group_alive(p) for p in alive):
                time.sleep(0.2)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _group_alive(proc: subprocess.Popen[bytes]) -> bool:
    """Whether any process of the group led by ``proc`` still runs (zombies do not count)."""
    proc.poll()  # reap our own child, or it stays a zombie member
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == proc.pid and fields[0] != "Z":
            return True
    return False


class AirflowApi:
    """The few REST calls an operator's script needs: wait for DAGs, trigger them, follow the runs."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url = url
        self.session = requests.Session()
        token = self.session.post(f"{url}/auth/token", json={"username": username, "password": password},
                                  timeout=30)
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    @classmethod
    def simple_auth(cls, url: str, airflow_home: Path, username: str = "admin") -> AirflowApi:
        """Log in as the simple auth manager's user with the password the API server generated."""
        passwords = json.loads((airflow_home / "simple_auth_manager_passwords.json.generated").read_text())
        return cls(url, username, passwords[username])

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.url}/api/v2{path}", timeout=60, **kwargs)
        if answer.status_code >= 400:
            raise StackError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json() if answer.content else None

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self._call("GET", "/dags", params={"limit": 1000})["dags"]}

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 300) -> None:
        wanted, deadline = set(dag_ids), time.monotonic() + timeout
        while not wanted <= (seen := self.dag_ids()):
            if time.monotonic() > deadline:
                raise StackError(f"DAGs never appeared: {sorted(wanted - seen)[:10]}")
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        return self._call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": {}})["dag_run_id"]

    def run_states(self, runs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        wanted = set(runs)
        found = self._call("POST", "/dags/~/dagRuns/list",
                           json={"dag_ids": sorted({d for d, _ in wanted}), "page_limit": 10_000})["dag_runs"]
        return {(r["dag_id"], r["dag_run_id"]): r["state"] for r in found if (r["dag_id"], r["dag_run_id"]) in wanted}

    def wait_runs(self, runs: Iterable[tuple[str, str]], timeout: float, stack: Stack | None = None,
                  poll: float = 2) -> dict[tuple[str, str], str]:
        """Until every run has finished (success or failed); their final states."""
        wanted, deadline = set(runs), time.monotonic() + timeout
        while True:
            states = self.run_states(wanted)
            if all(states.get(r) in ("success", "failed") for r in wanted):
                return states
            if stack is not None:
                stack.check_alive()
            if time.monotonic() > deadline:
                waiting = {f"{d}/{r}": states.get((d, r)) for d, r in wanted if states.get((d, r)) != "success"}
                raise StackError(f"runs unfinished after {timeout:.0f} s: {dict(list(waiting.items())[:10])}")
            time.sleep(poll)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the production profile's Airflow processes on this machine")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="task slots per worker (default: AIRFLOW__CELERY__WORKER_CONCURRENCY or 2)")
    args = parser.parse_args(argv)
    env = {**read_env_file(), **os.environ}
    if missing := placeholders(env):
        print(f"replace {PLACEHOLDER} first (deploy/README.md says how): {', '.join(missing)}", file=sys.stderr)
        return 2
    concurrency = args.concurrency or int(env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "2"))
    stack = Stack(env, Path(env["AIRFLOW_HOME"]) / "stack", workers=args.workers, concurrency=concurrency)
    # Ctrl-C and a service manager's SIGTERM both stop the whole stack, even when started from a
    # shell in the background (which would otherwise leave SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        stack.migrate()
        stack.start()
        stack.wait_healthy()
        print(f"running: {', '.join(stack.procs)}; UI and REST API on {stack.api_url}; logs in {stack.log_dir}. "
              "Ctrl-C stops them.", flush=True)
        while True:
            stack.check_alive()
            time.sleep(5)
    except KeyboardInterrupt:
        return 0
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
