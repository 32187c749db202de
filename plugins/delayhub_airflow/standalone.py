"""``make airflow``: Airflow standalone (API server with the UI, scheduler, DAG processor, triggerer)
on the embedded default, with delayhub's DAGs and plugin.

    python plugins/delayhub_airflow/standalone.py

Takes DELAYHUB_ROOT, AIRFLOW_HOME and AIRFLOW_CONFIG from the environment (the Makefile exports
them; without them: this checkout, var/airflow, airflow.cfg), puts this Python's bin/ first on
PATH (standalone starts bare ``airflow`` subcommands) and gives every component the same JWT
secret, then runs ``airflow standalone`` until Ctrl-C (or SIGTERM).

Standalone runs in a session of its own and gets exactly one SIGINT from here, on which it stops
each component in 3-5 s. A Ctrl-C reaching the components directly (a terminal signals its whole
process group) makes them get standalone's SIGTERM on top of it, and the scheduler and DAG
processor then hang instead of exiting.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def jwt_secret(home: Path) -> str:
    """The key the API server and the scheduler sign and check tokens with, kept in AIRFLOW_HOME.

    airflow.cfg has none (it is committed), and without one each component makes up its own, so
    the API server refuses every task the scheduler starts.
    """
    path = home / "jwt_secret"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(64))  # 64 bytes: HS512 wants no less
    return path.read_text().strip()


def standalone_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment ``airflow standalone`` runs in, from the caller's."""
    env = dict(environ)
    root = Path(env.get("DELAYHUB_ROOT") or ROOT)
    home = Path(env.get("AIRFLOW_HOME") or root / "var" / "airflow")
    env.update(DELAYHUB_ROOT=str(root), AIRFLOW_HOME=str(home),
               AIRFLOW_CONFIG=env.get("AIRFLOW_CONFIG") or str(root / "airflow.cfg"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]))
    if not env.get("AIRFLOW__API_AUTH__JWT_SECRET"):
        env["AIRFLOW__API_AUTH__JWT_SECRET"] = jwt_secret(home)
    return env


def main() -> int:
    env = standalone_env(os.environ)
    proc: subprocess.Popen[bytes] | None = None

    def forward(_signum: int, _frame: object) -> None:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)

    port = env.get("AIRFLOW__API__PORT", "8080")
    print(f"delayhub: Airflow UI on http://localhost:{port}/ in 20-30 s; user admin, password in "
          f"{Path(env['AIRFLOW_HOME']) / 'simple_auth_manager_passwords.json.generated'}; Ctrl-C stops it.",
          flush=True)
    # Set before the start, so standalone never inherits an ignored SIGINT (a background launch).
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "standalone"], env=env,
                            start_new_session=True)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
