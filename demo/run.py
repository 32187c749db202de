"""``delayhub demo``: the whole path on the embedded default, through Airflow.

Starts the demo back offices and the local SMTP and SMS sinks, runs every ingest DAG, the
notice sweep and the dispatch DAG with ``dag.test()`` in an Airflow subprocess, then prints
what happened from the hub store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from delayhub import config
from delayhub.dispatch import status as st
from delayhub.dispatch.letters import print_queue_dir
from delayhub.mapping import load_all
from delayhub.notices import UNFINISHED
from delayhub.sinks import SmsSink, SmtpSink
from delayhub.store import HubStore
from delayhub.store.models import Outbox, Request
from delayhub.thai import format_thai_date
from delayhub.web.accounts import seed_demo_accounts

from .backoffice import BackOffice


def airflow_env(root: Path) -> dict[str, str]:
    var = config.var_dir()
    home = var / "airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(DELAYHUB_ROOT=str(root), DELAYHUB_VAR=str(var), AIRFLOW_HOME=str(home),
               AIRFLOW_CONFIG=str(root / "airflow.cfg"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    env.setdefault("DELAYHUB_TRACKING_URL", "http://127.0.0.1:8000/track")  # `delayhub serve` on this machine
    return env


def peers(today: Any, var: Path) -> list[Any]:
    """Every bundled back office, one per connector kind, each a stand-in for a real agency system."""
    from .files_backoffice import FileDropBackOffice
    from .odbc_backoffice import OdbcBackOffice
    from .push_backoffice import PushBackOffice
    from .soap_backoffice import SoapBackOffice

    return [BackOffice(today), SoapBackOffice(today), OdbcBackOffice(today), FileDropBackOffice(today),
            PushBackOffice(today=today)]


def run(out: Any = sys.stdout) -> int:
    root, var, today = config.project_root(), config.var_dir(), config.today()
    demo_dir = var / "demo"
    mail_dir, sms_log, airflow_log = demo_dir / "mail", demo_dir / "sms.log", demo_dir / "airflow-run.log"
    store = HubStore.open()
    started = config.now()
    smtp = SmtpSink(mail_dir).start()
    sms = SmsSink(sms_log).start()
    running: list[Any] = []
    try:
        env = airflow_env(root)
        mappings, errors = load_all()
        print(f"delayhub demo — {format_thai_date(today, thai_digits=False)} ({today.isoformat()})", file=out)
        for peer in peers(today, var):
            if hasattr(peer, "prepare"):
                peer.prepare(var)
            running.append(peer.start())
            env.update(peer.connection_env())
            for line in getattr(peer, "summary", lambda: [])():
                print(f"  push intake: {line}", file=out)
        env["AIRFLOW_CONN_DELAYHUB_SMTP"] = json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port})
        env["AIRFLOW_CONN_DELAYHUB_SMS"] = json.dumps({"conn_type": "http", "host": "127.0.0.1", "port": sms.port,
                                                       "extra": {"path": "/sms"}})
        dag_ids = [m.dag_id for m in mappings] + ["notice_sweep", "dispatch_notices"]
        print(f"running {len(dag_ids)} DAGs through Airflow (dag.test); log: {_rel(airflow_log)}", file=out, flush=True)
        airflow_log.parent.mkdir(parents=True, exist_ok=True)
        with airflow_log.open("w", encoding="utf-8") as log:
            proc = subprocess.run([sys.executable, str(root / "plugins" / "delayhub_airflow" / "run_dags.py"),
                                   *dag_ids], env=env, stdout=subprocess.PIPE, stderr=log, text=True, check=False)
        states = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        for s in states:
            print(f"  {s.get('dag_id', s.get('import_error'))}: {s.get('state', s.get('error'))}", file=out)
        _summary(store, started, errors, mail_dir, sms_log, out)
        if proc.returncode != 0:
            print(f"\nAn Airflow run failed: see {_rel(airflow_log)}", file=out)
        return proc.returncode
    finally:
        for peer in reversed(running):
            peer.stop()
        sms.stop()
        smtp.stop()
        store.close()


def _summary(store: HubStore, since: Any, errors: list, mail_dir: Path, sms_log: Path, out: Any) -> None:
    runs = store.job_runs_since(since)
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("\nIngest")
    for r in (r for r in runs if r.job == "ingest"):
        s = r.stats
        p(f"  {r.subject}: read {s.get('read', 0)}, stored {s.get('stored', 0)} "
          f"(new {s.get('inserted', 0)}, changed {s.get('updated', 0)}, unchanged {s.get('unchanged', 0)}), "
          f"quarantined {s.get('quarantined', 0)}"
          + (f", unreadable as a whole {s['rejected_whole']}" if s.get("rejected_whole") else "")
          + (f" — FAILED: {r.error}" if r.status == "failed" else ""))
    for e in errors:
        p(f"  mapping skipped: {e}")
    reasons = store.quarantine_reasons(limit=5, since=since)
    if reasons:
        p("  first quarantine reasons:")
        for q in reasons:
            p(f"    {q.connector_id} record {q.source_record_id or '?'} — {q.field}: {q.reason}")
    today = config.today()
    total = sum(store.counts(Request, Request.status).values())
    overdue = sum(store.counts(Request, Request.status, where=(Request.due_on < today)
                               & Request.status.in_(UNFINISHED)).values())
    sweep = next((r.stats for r in reversed(runs) if r.job == "sweep"), {})
    dispatch = next((r.stats for r in reversed(runs) if r.job == "dispatch"), {})
    p("\nSection 10")
    p(f"  requests in the hub: {total}; overdue and unfinished: {overdue}")
    p(f"  notices owed today: {sweep.get('notices_owed', 0)}; newly queued this run (per channel): "
      f"{sweep.get('outbox_added', 0)}; held for a missing reason: {sweep.get('held_no_reason', 0)}")
    sent = {c: dispatch.get(f"sent_{c}", 0) for c in ("email", "sms", "opdc", "letter")}
    p(f"  delivered this run: email {sent['email']} (each with its PDF letter), SMS {sent['sms']}, "
      f"printable letter {sent['letter']}, copy to OPDC {sent['opdc']}; "
      f"waiting to retry {dispatch.get('retry', 0)}; failed {dispatch.get('failed', 0) + dispatch.get('dead', 0)}")
    if not sweep.get("outbox_added") and not sum(sent.values()):
        p("  nothing new was owed: every notice due today had already been sent.")
    by_status = store.counts(Outbox, Outbox.status)
    p("  outbox overall: " + ", ".join(f"{k} {by_status.get(k, 0)}" for k in (st.SENT, *st.IN_FLIGHT, *st.UNDELIVERED)))
    p("\nLook at them")
    p(f"  emails (.eml): {_rel(mail_dir)}/ ({len(list(mail_dir.glob('*.eml')))} files)")
    p(f"  SMS log: {_rel(sms_log)}")
    print_dir = print_queue_dir()
    p(f"  print queue (letters to post): {_rel(print_dir)}/ ({len(list(print_dir.rglob('*.pdf')))} PDFs)")
    p(f"  hub store: {config.database_url()}")
    p("\nWeb application (`delayhub serve`, then http://127.0.0.1:8000/)")
    accounts = seed_demo_accounts(store)
    by_role: dict[str, list[Any]] = {}
    for a in accounts:
        by_role.setdefault(a.role, []).append(a)
    for role, group in by_role.items():
        names = ", ".join(a.username for a in group[:3]) + (" …" if len(group) > 3 else "")
        p(f"  {getattr(role, 'value', role)}: {names} (password {group[0].password})")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
