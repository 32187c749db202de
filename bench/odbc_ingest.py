"""Rows per second from a PostgreSQL back office into the hub, through the ODBC connector.

Loads N rows of กรมโรงงานอุตสาหกรรม's ``tbl_factory_request`` (demo/odbc_backoffice.py) into a
database of its own on the PostgreSQL at 127.0.0.1 with COPY, then measures:

* ``read_only_records_per_second``: OdbcConnector alone (psqlodbc, Unicode driver, server-side
  cursor), rows → dicts, pages of ``--batch-size``;
* ``records_per_second``: the same read, normalised with mappings/mind-diw-factories.yaml and
  stored by ``delayhub.ingest.ingest`` into a fresh hub store (SQLite in a temp dir);
* the peer: the same query through ``pandas.read_sql`` on a SQLAlchemy psycopg engine, streamed
  in chunks of the same size, no validation, nothing stored.

Prints one JSON line. The database (and its table) is dropped at the end.
Usage: .venv/bin/python bench/odbc_ingest.py [-n 1000000] [--batch-size 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg

import connectors
from connectors.base import Secrets
from delayhub.config import project_root
from delayhub.ingest import ingest
from delayhub.mapping import load_mapping
from delayhub.registry import Registry
from delayhub.store import HubStore
from demo.odbc_backoffice import COLUMNS, TABLE, create_table_sql, iter_rows

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
TODAY = dt.date(2026, 11, 24)


def load(dbname: str, n: int) -> float:
    start = time.perf_counter()
    with psycopg.connect(dbname=dbname, **PG) as conn:
        conn.execute(create_table_sql("postgresql"))
        with conn.cursor().copy(f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in iter_rows(TODAY, n):
                copy.write_row([row[c] for c in COLUMNS])
        conn.execute(f"ALTER TABLE {TABLE} ADD UNIQUE (last_updated, req_id)")  # the query's ORDER BY
        conn.execute(f"ANALYZE {TABLE}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="rows to load and read (default 1,000,000)")
    parser.add_argument("--batch-size", type=int, default=1000, help="rows per fetch / page (default 1000)")
    args = parser.parse_args()

    mapping = load_mapping(project_root() / "mappings" / "mind-diw-factories.yaml")
    source = {**mapping.source, "batch_size": args.batch_size, "timeout_seconds": 300}
    mapping = replace(mapping, source=source)
    dbname = f"delayhub_bench_odbc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    out: dict[str, Any] = {"bench": "odbc_ingest", "rows": args.n}
    try:
        load_seconds = load(dbname, args.n)
        secrets = Secrets(host=PG["host"], port=PG["port"], login=PG["user"], schema=dbname,
                          extra={"driver": "PostgreSQL Unicode"})

        # 1. the connector alone
        start = time.perf_counter()
        read = sum(len(p.records) + len(p.rejects) for p in connectors.build(source, secrets).read(None))
        read_seconds = time.perf_counter() - start
        assert read == args.n, (read, args.n)

        # 2. the peer: pandas.read_sql over psycopg, streamed in the same batch size, no validation
        import pandas as pd
        import sqlalchemy

        engine = sqlalchemy.create_engine(f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{dbname}")
        peer_sql = source["query"].replace("?", "%(w)s")
        start = time.perf_counter()
        peer_rows = 0
        with engine.connect().execution_options(stream_results=True) as conn:
            for frame in pd.read_sql(peer_sql, conn, params={"w": dt.datetime(1900, 1, 1)}, chunksize=args.batch_size):
                peer_rows += len(frame)
        peer_seconds = time.perf_counter() - start
        engine.dispose()
        assert peer_rows == args.n, (peer_rows, args.n)

        # 3. connector + normalise + store, as the ingest DAG runs it
        with tempfile.TemporaryDirectory() as tmp:
            os.environ.setdefault("DELAYHUB_VAR", tmp)
            store = HubStore.open(f"sqlite:///{Path(tmp) / 'hub.db'}")
            connector = connectors.build(source, secrets, store, mapping.id)
            start = time.perf_counter()
            stats = ingest(mapping, connector, store, Registry.load())
            ingest_seconds = time.perf_counter() - start
            store.close()

        out.update({
            "records_per_second": round(args.n / ingest_seconds),
            "read_only_records_per_second": round(args.n / read_seconds),
            "peer": "pandas.read_sql, no validation",
            "peer_records_per_second": round(args.n / peer_seconds),
            "stored": stats["stored"], "quarantined": stats["quarantined"],
            "rejected_whole": stats.get("rejected_whole", 0),
            "ingest_seconds": round(ingest_seconds, 1), "read_seconds": round(read_seconds, 1),
            "peer_seconds": round(peer_seconds, 1), "load_seconds": round(load_seconds, 1),
            "batch_size": args.batch_size,
            "source": "PostgreSQL 15 on 127.0.0.1 via ODBC driver 'PostgreSQL Unicode' (server-side cursor)",
            "peer_detail": "SQLAlchemy psycopg engine, stream_results, chunksize = batch_size",
            "hub_store": "SQLite file in a temp dir (WAL)",
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "cpus": os.cpu_count(),
        })
    finally:
        with psycopg.connect(dbname=dbname, autocommit=True, **PG) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
