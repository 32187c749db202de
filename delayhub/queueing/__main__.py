"""``python -m delayhub.queueing validate | kiosk-link AGENCY | tick``

- ``validate``: read every ``data/queue/*.yaml`` and say what is wrong, with the file and the field.
- ``kiosk-link AGENCY [--base URL]``: the link a kiosk at the agency opens (it carries the kiosk's key,
  derived from DELAYHUB_WEB_SECRET: the same on every web host).
- ``tick``: the scheduled work (``tick.run``, also the Airflow DAG ``queue_tick``): close bookings on days
  that became days off, release web and mobile bookings not checked in within the grace period, hand
  today's unused afternoon web places to walk-ins where the agency says so, queue the reminders due the
  working day before, and remove expired one-time codes from the outbox's texts. Run it every few
  minutes (cron, or the DAG every 5). A broken settings file skips its agency and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import ConfigError
from ..registry import Registry
from .settings import load_all, settings_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delayhub.queueing", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check data/queue/*.yaml")
    link = sub.add_parser("kiosk-link", help="the link a kiosk at AGENCY opens")
    link.add_argument("agency")
    link.add_argument("--base", default=None, help="the web application's address (default DELAYHUB_PUBLIC_URL)")
    sub.add_parser("tick", help="close days off, release no-shows, hand over web places, send reminders")
    args = parser.parse_args(argv)
    if args.command == "tick":
        from .tick import run

        result = run()
        for error in result.errors:
            print(f"error: {error}", file=sys.stderr)
        print(json.dumps(result.figures))
        return 1 if result.errors else 0
    registry = Registry.load()
    try:
        settings = load_all(registry)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.command == "validate":
        for code, s in settings.items():
            print(f"{code}: {len(s.services)} service(s), {len(s.slot_times())} slots a day, "
                  f"booking {s.horizon_days} days ahead, mobile within {s.mobile_radius_m} m")
        print(f"{len(settings)} agency queue file(s) in {settings_dir()} are valid")
        return 0
    from ..web.queue_api import queue_key
    from ..web.secret import web_secret
    from .messages import public_url
    from .rules import kiosk_key

    key = queue_key(web_secret())
    if args.agency not in settings:
        print(f"error: {args.agency} has no data/queue/{args.agency}.yaml", file=sys.stderr)
        return 1
    print(f"{(args.base or public_url()).rstrip('/')}/queue/kiosk/{args.agency}?key={kiosk_key(key, args.agency)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
