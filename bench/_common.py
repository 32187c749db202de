"""What the HTTP benchmarks share: a scratch PostgreSQL database, the web app under uvicorn as deployed,
and wrk runs read back from the JSON line that ``wrk_report.lua`` prints."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))
from single_host import free_port  # noqa: E402  (one helper for a free port, shared with the tests)

PG_ADMIN = os.environ.get("DELAYHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database's URL, dropped afterwards whatever happens."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def web_app(env: dict[str, str], workers: int, *extra: str) -> Iterator[str]:
    """The web application as deployed (uvicorn, uvloop, httptools, ``workers`` processes, no access log);
    yields its base URL once /health answers, and stops it with SIGINT afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "delayhub.web.app:create_app",
                               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                               "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
                               "--http", "httptools", *extra], env=env, cwd=ROOT)
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("the web application did not answer /health within 30 s")
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def run_with_wrk(prefix: str, run: Callable[[str, Path, argparse.Namespace], dict[str, Any]],
                 args: argparse.Namespace) -> None:
    """Print, as one JSON line, what ``run`` measures on a scratch database with a scratch folder, both
    removed afterwards whatever happens; wrk must be installed."""
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    try:
        with scratch_database(prefix.replace("-", "_")) as url:
            print(json.dumps(run(url, tmp, args), ensure_ascii=False))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_wrk(base: str, script: Path, clients: int, seconds: float, *args: str, threads: int = 2) -> dict:
    """One wrk run with ``script`` (which ends with wrk_report.lua's summary line), as a dict."""
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "10s",
                          "-s", str(script), base, "--", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
