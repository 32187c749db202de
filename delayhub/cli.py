"""The ``delayhub`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delayhub", description="Section 10 delay notices hub")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the whole path on the embedded default through Airflow")
    sub.add_parser("migrate", help="bring the hub store (DELAYHUB_DATABASE_URL) to the newest schema")
    web = sub.add_parser("serve", help="the web application: officer's desk, tracking, the OPDC's lateness view")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--root-path", default="", help="the prefix a reverse proxy serves it under")
    disp = sub.add_parser("dispatch", help="send the queued notices (email, SMS, print queue) once, or until done")
    disp.add_argument("--batch", type=int, default=500, help="rows leased at a time (default 500)")
    disp.add_argument("--until-done", type=float, metavar="SECONDS",
                      help="keep going, waiting for retries, until every notice is finished or SECONDS pass")
    keep = sub.add_parser("housekeeping", help="delete used form tokens, expired sessions and codes, old rate-limit "
                                               "windows (the notice-sweep DAG runs it daily)")
    keep.add_argument("--batch", type=_positive, default=5_000, help="rows deleted per transaction (default 5000)")
    conn = sub.add_parser("connector", help="onboard a connector: validate, test the connection, preview records")
    conn_sub = conn.add_subparsers(dest="action", required=True)
    for action, text in (("validate", "check a mappings file: schema and meaning, with line numbers"),
                         ("test", "connect and authenticate with the Connection's secrets (environment)"),
                         ("preview", "read a few records and show them mapped; writes nothing")):
        p = conn_sub.add_parser(action, help=text)
        p.add_argument("mapping", type=Path, help="mappings/<id>.yaml")
        if action == "preview":
            p.add_argument("--limit", type=int, default=20, help="read at most this many records (default 20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # retries are reported once, by the connector
    if args.command == "demo":
        from demo.run import run

        return run()
    if args.command == "connector":
        return _connector(args)
    if args.command == "serve":
        from delayhub.web.app import serve

        serve(args.host, args.port, args.root_path)
        return 0
    if args.command == "dispatch":
        return _dispatch(args)
    if args.command == "housekeeping":
        return _housekeeping(args)
    if args.command == "migrate":
        from delayhub.store import HubStore

        HubStore.open().close()
        print("hub store is at the newest schema")
        return 0
    return 2

def _dispatch(args: argparse.Namespace) -> int:
    import datetime as dt
    import json

    from delayhub import config
    from delayhub.dispatch.run import dispatch, dispatch_until_done
    from delayhub.store import HubStore

    logging.getLogger("delayhub").setLevel(logging.INFO)
    cfg = config.dispatch_from_env()
    store = HubStore.open()
    try:
        if args.until_done is None:
            stats = dispatch(store, cfg, args.batch)
        else:
            stats = dispatch_until_done(store, cfg, dt.timedelta(seconds=args.until_done), args.batch)
    finally:
        store.close()
    print(json.dumps(stats, ensure_ascii=False, default=str))
    return 1 if stats.get("pending") else 0


def _positive(text: str) -> int:
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _housekeeping(args: argparse.Namespace) -> int:
    import json

    from delayhub.housekeeping import housekeeping
    from delayhub.store import HubStore

    store = HubStore.open()
    try:
        deleted = housekeeping(store, batch=args.batch)
    finally:
        store.close()
    print(json.dumps({"deleted": deleted}))
    return 0


def _connector(args: argparse.Namespace) -> int:
    from delayhub import onboarding
    from delayhub.errors import DelayhubError

    if args.action == "validate":
        findings = onboarding.validate(args.mapping)
        for f in findings:
            print(f.render(str(args.mapping)))
        errors = sum(f.level == "error" for f in findings)
        if not errors:
            print(f"{args.mapping}: valid" + (f" ({len(findings)} warning(s))" if findings else ""))
        return 1 if errors else 0
    try:
        if args.action == "test":
            return 0 if onboarding.test(args.mapping, sys.stdout) else 1
        onboarding.preview(args.mapping, args.limit, sys.stdout)
        return 0
    except DelayhubError as exc:
        print(f"{args.mapping}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
