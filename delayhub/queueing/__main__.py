"""``python -m delayhub.queueing validate | kiosk-link AGENCY | tick``

- ``validate``: read every ``data/queue/*.yaml`` and say what is wrong, with the file and the field.
- ``kiosk-link AGENCY [--base URL]``: the link a kiosk at the agency opens (it carries the kiosk's key,
  derived from DELAYHUB_WEB_SECRET: the same on every web host).
- ``tick``: the minute's work: release web and mobile bookings not checked in within the grace period,
  hand today's unused afternoon web places to walk-ins where the agency says so, and remove expired
  one-time codes from the outbox's texts. Run it every minute (cron, or an Airflow DAG).
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
    sub.add_parser("tick", help="release no-shows, hand over afternoon web places, scrub expired codes")
    args = parser.parse_args(argv)
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

    key = queue_key(web_secret())
    if args.command == "kiosk-link":
        from .messages import public_url
        from .rules import kiosk_key

        if args.agency not in settings:
            print(f"error: {args.agency} has no data/queue/{args.agency}.yaml", file=sys.stderr)
            return 1
        print(f"{(args.base or public_url()).rstrip('/')}/queue/kiosk/{args.agency}?key={kiosk_key(key, args.agency)}")
        return 0
    from ..store import HubStore
    from .booking import Queue
    from .otp import Codes

    store = HubStore.open()
    try:
        queue = Queue(store, registry, settings, key)
        now = queue.now()
        for agency in settings:  # the booking horizon moves on even on a day nobody has visited yet
            queue.open(agency, now)
        done = {"released": queue.release_no_shows(now), "handed_over": queue.hand_over(now),
                "codes_scrubbed": Codes(store, key).scrub(now)}
    finally:
        store.close()
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
