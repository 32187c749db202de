"""``python -m delayhub.survey validate | sync``

- ``validate``: read data/survey/standard.yaml and data/survey/agencies/*.yaml and say what is wrong, with
  the file and the field.
- ``sync``: also store each file's version in the hub store (DELAYHUB_DATABASE_URL): a new version becomes
  a new row, an unchanged file makes none, and a changed file that kept its version number is refused.
  The web application does this itself when a file changes; this is for a check before deploying.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import ConfigError
from ..registry import Registry
from . import questions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delayhub.survey", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check data/survey/")
    sub.add_parser("sync", help="check data/survey/ and store new versions in the hub store")
    args = parser.parse_args(argv)
    try:
        files = questions.load(registry=Registry.load())
        print(f"standard set version {files.standard.version}: {len(files.standard.questions)} questions, "
              f"links work {files.link_days} days")
        for code, own in sorted(files.agencies.items()):
            print(f"{code}: version {own.version}, {len(own.questions)} question(s) of its own")
        if args.command == "sync":
            from ..store import HubStore

            store = HubStore.open()
            try:
                with store.transaction() as s:
                    stored = questions.sync(s, files)
            finally:
                store.close()
            print("stored: " + ", ".join(f"{owner} v{st.version} (id {st.id})" for owner, st in sorted(stored.items())))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"the survey files in {questions.survey_dir()} are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
