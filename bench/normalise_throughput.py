"""Records normalised per second on one core, against jsonschema validation alone (the peer).

Prints one JSON line. The peer is the floor every record pays (the schema check); the rest
is mapping, BE dates, Thai digits, the registry check and the checksum.
"""

from __future__ import annotations

import datetime as dt
import json
import time

from delayhub.config import project_root
from delayhub.mapping import load_mapping
from delayhub.normalise import normalise
from delayhub.registry import Registry
from delayhub.schemas import validator
from demo.backoffice import dbd_records


def main(rounds: int = 10) -> None:
    mapping = load_mapping(project_root() / "mappings" / "moc-dbd-registration.yaml")
    registry = Registry.load()
    records = dbd_records(dt.date(2026, 11, 25), n=2000)
    now = dt.datetime.now(dt.UTC)
    outcomes = [normalise(r, mapping, registry, now) for r in records]  # warm-up
    standard = [o.request for o in outcomes if o.request]
    start = time.process_time()
    for _ in range(rounds):
        for r in records:
            normalise(r, mapping, registry, now)
    ours = rounds * len(records) / (time.process_time() - start)
    check = validator("request")
    start = time.process_time()
    for _ in range(rounds):
        for r in standard:
            for _e in check.iter_errors(r):
                pass
    peer = rounds * len(standard) / (time.process_time() - start)
    print(json.dumps({"bench": "normalise_throughput", "records_per_cpu_second": round(ours),
                      "peer": "jsonschema Draft202012 iter_errors on the standard record",
                      "peer_records_per_cpu_second": round(peer), "ratio_to_peer": round(ours / peer, 2),
                      "records": len(records), "rounds": rounds}))


if __name__ == "__main__":
    main()
