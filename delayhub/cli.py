"""The ``delayhub`` command."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="delayhub", description="Section 10 delay notices hub")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the whole path on the embedded default through Airflow")
    sub.add_parser("migrate", help="bring the hub store (DELAYHUB_DATABASE_URL) to the newest schema")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from demo.run import run

        return run()
    if args.command == "migrate":
        from delayhub.store import HubStore

        HubStore.open().close()
        print("hub store is at the newest schema")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
