"""The survey's agency report and OPDC ranking over 5 million answers in PostgreSQL.

A fresh PostgreSQL database is migrated and filled in SQL: N answers (one INSERT … SELECT over
generate_series, in visit order over two years) spread over the registry's agencies as the survey makes
them: each queue (``data/queue/*.yaml``) by service, channel and counter with a measured wait, each citizen
manual's process by the desk and connector channels with the days late; civil registration
(MOI-DOPA-BORA) a third of all answers. Scores, sub-scores (some skipped), comments (one in eight) vary by
hash, each agency, service and channel with its own leaning. The daily roll-up is then filled from the
answers in one INSERT … SELECT … GROUP BY, as the survey's UPSERTs would have left it, with invitations at
each agency's response rate (30–60 %).

Timed (median of ``--runs`` after one warm run, each in a fresh session of the hub store):

- ``agency_report`` for the department with the most answers (its divisions' included), over the last 12
  months and over the whole two years: every breakdown, the sub-score means and the first page of comments;
- ``opdc_ranking`` (departments) over the last 12 months and the whole two years;
- the peers: the same ranking, and the same agency breakdown with its sub-score means, computed by GROUP BY
  over ``survey_answers`` directly, i.e. without the roll-up.

The sub-score means are the one figure the roll-up does not keep: the reports read them from the answers'
(agency, visit_on) index, which carries the three sub-scores (an index-only scan).

Prints one JSON line; the database is dropped whatever happens. Timings grow when other work shares the
machine: run it on a quiet one.

    .venv/bin/python bench/survey_reports.py [-n 5000000] [--runs 5]

Needs PostgreSQL (DELAYHUB_TEST_PG, default postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy
from _common import scratch_database

from delayhub.queueing.settings import load_all
from delayhub.registry import Registry
from delayhub.reports.scope import AgencyScope
from delayhub.store import HubStore
from delayhub.survey.report import agency_report, default_period, opdc_ranking

DAYS = 730
SLOTS = 1000  # answers pick their (agency, service, channel, counter) from this many weighted slots
TARGET_MS = 500
BIGGEST = "MOI-DOPA-BORA"  # civil registration: a third of every answer


def combos(registry: Registry) -> list[tuple[str, str, str, str | None, str, float]]:
    """(agency, service, channel, counter, kind, weight): queue visits and requests as the survey records them."""
    out: list[tuple[str, str, str, str | None, str, float]] = []
    for code, queue in sorted(load_all(registry).items()):
        for service in queue.services:
            for channel, desk in sorted(queue.desks.items()):
                for counter in desk.counters:
                    out.append((code, service, channel, counter, "queue", 3.0))
    for manual in sorted(registry.manuals.values(), key=lambda m: m.manual_id):
        for channel, weight in (("connector", 2.0), ("desk", 1.0)):
            out.append((manual.division, manual.process_code, channel, None, "request", weight))
    others = sum(c[5] for c in out if c[0] != BIGGEST)
    mine = sum(c[5] for c in out if c[0] == BIGGEST)
    scale = others / 2 / mine  # BIGGEST ends with a third of the weight
    return [(*c[:5], c[5] * scale if c[0] == BIGGEST else c[5]) for c in out]


def slots_sql(rows: list[tuple[str, str, str, str | None, str, float]]) -> str:
    """A VALUES list of SLOTS slots, each combination taking slots in proportion to its weight."""
    total, before, values = sum(r[5] for r in rows), 0.0, []
    for i, (agency, service, channel, counter, kind, weight) in enumerate(rows):
        lean = (i * 7) % 31  # 0–30: how much better than the floor this combination is scored
        counter_sql = f"'{counter}'" if counter is not None else "NULL"
        for slot in range(round(before / total * SLOTS), round((before + weight) / total * SLOTS)):
            values.append(f"({slot}, '{agency}', '{service}', '{channel}', {counter_sql}, '{kind}', {lean})")
        before += weight
    return ", ".join(values)


def fill(url: str, n: int, registry: Registry, first: dt.date) -> dict[str, float]:
    rows = combos(registry)
    sql = f"""
        INSERT INTO survey_answers (agency, service, channel, counter, visit_on, standard_set_id, overall, speed,
                                    courtesy, clarity, comment, wait_seconds, days_late)
        SELECT c.agency, c.service, c.channel, c.counter, DATE '{first}' + ((g - 1)::bigint * {DAYS} / {n})::int,
               1, o.overall,
               CASE WHEN (x.h / 100) % 20 <> 0 THEN least(5, greatest(1, o.overall + (x.h / 100) % 3 - 1)) END,
               CASE WHEN (x.h / 300) % 20 <> 0 THEN least(5, greatest(1, o.overall + (x.h / 300) % 3 - 1)) END,
               CASE WHEN (x.h / 900) % 20 <> 0 THEN least(5, greatest(1, o.overall + (x.h / 900) % 3 - 1)) END,
               CASE WHEN (x.h / 7) % 8 = 0 THEN 'ความเห็นที่ ' || g || ' ขอบคุณเจ้าหน้าที่ โทร 08x-xxx-' || g % 10000 END,
               CASE WHEN c.kind = 'queue' THEN ((x.h / 11) % 60) * 60 END,
               CASE WHEN c.kind = 'request' THEN CASE WHEN (x.h / 13) % 5 = 0 THEN (x.h / 17) % 20 ELSE 0 END END
        FROM generate_series(1, {n}) AS g
        CROSS JOIN LATERAL (SELECT (g::bigint * 2654435761) % 4294967296 AS h) AS x
        JOIN (VALUES {slots_sql(rows)}) AS c(slot, agency, service, channel, counter, kind, lean)
          ON c.slot = (g::bigint * 7919) % {SLOTS}
        CROSS JOIN LATERAL (SELECT CASE WHEN r < 4 THEN 1 WHEN r < 10 THEN 2 WHEN r < 25 THEN 3 WHEN r < 60 THEN 4
                                        ELSE 5 END AS overall
                            FROM (SELECT (x.h % 100) * (100 - c.lean) / 100 + c.lean AS r) AS s) AS o
    """
    rollup = """
        INSERT INTO survey_daily (agency, service, channel, counter, day, invited, answers, overall_1, overall_2,
                                  overall_3, overall_4, overall_5, wait_seconds_sum, wait_count, days_late_sum,
                                  days_late_count, speed_sum, speed_count, courtesy_sum, courtesy_count,
                                  clarity_sum, clarity_count)
        SELECT agency, service, channel, coalesce(counter, ''), visit_on,
               ceil(count(*) * 100.0 / (30 + abs(hashtext(agency)) % 31))::int, count(*),
               count(*) FILTER (WHERE overall = 1), count(*) FILTER (WHERE overall = 2),
               count(*) FILTER (WHERE overall = 3), count(*) FILTER (WHERE overall = 4),
               count(*) FILTER (WHERE overall = 5),
               coalesce(sum(wait_seconds), 0), count(wait_seconds), coalesce(sum(days_late), 0), count(days_late),
               coalesce(sum(speed), 0), count(speed), coalesce(sum(courtesy), 0), count(courtesy),
               coalesce(sum(clarity), 0), count(clarity)
        FROM survey_answers GROUP BY agency, service, channel, coalesce(counter, ''), visit_on
    """
    engine = sqlalchemy.create_engine(url)
    out = {}
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO survey_question_sets (id, owner, version, questions, digest, created_at) "
                             "VALUES (1, 'OPDC', 1, '[]', repeat('0', 64), now())")
        start = time.perf_counter()
        conn.connection.driver_connection.execute(sql)  # no parameters: its % are SQL's
        out["load_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        conn.connection.driver_connection.execute(rollup)
        out["rollup_seconds"] = time.perf_counter() - start
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE survey_answers")
        conn.exec_driver_sql("VACUUM ANALYZE survey_daily")
        out["rollup_rows"] = conn.exec_driver_sql("SELECT count(*) FROM survey_daily").scalar()
    engine.dispose()
    return out


def timed(fn: Callable[[], Any], runs: int) -> float:
    """Median milliseconds of ``runs`` calls after one warm call."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


PEER_RANKING = """
    SELECT agency, count(*), count(*) FILTER (WHERE overall >= 4), avg(wait_seconds), avg(days_late)
    FROM survey_answers WHERE visit_on BETWEEN %(start)s AND %(end)s GROUP BY agency
"""
PEER_AGENCY = """
    SELECT service, channel, counter, date_trunc('month', visit_on), count(*), count(*) FILTER (WHERE overall = 1),
           count(*) FILTER (WHERE overall = 2), count(*) FILTER (WHERE overall = 3),
           count(*) FILTER (WHERE overall = 4), count(*) FILTER (WHERE overall = 5), avg(wait_seconds), avg(days_late),
           avg(speed), avg(courtesy), avg(clarity)
    FROM survey_answers WHERE agency = ANY(%(codes)s) AND visit_on BETWEEN %(start)s AND %(end)s
    GROUP BY service, channel, counter, date_trunc('month', visit_on)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5_000_000, help="answers in the store (default 5,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each report (median)")
    args = parser.parse_args()

    with scratch_database("delayhub_bench_survey") as url:
        print(json.dumps(run(url, args.n, args.runs), ensure_ascii=False))


def run(url: str, n: int, runs: int) -> dict[str, Any]:
    registry = Registry.load()
    HubStore.open(url).close()  # migrated
    today = dt.date.today()
    first = today - dt.timedelta(days=DAYS - 1)
    loaded = fill(url, n, registry, first)
    store = HubStore.open(url, migrate_schema=False)
    raw = sqlalchemy.create_engine(url)
    try:
        year, whole = default_period(today), (first, today)
        with raw.connect() as conn:
            per_agency = dict(conn.exec_driver_sql(
                "SELECT agency, sum(answers) FROM survey_daily GROUP BY agency").all())
        departments = {a.code: sum(int(per_agency.get(c.code, 0)) for c in AgencyScope.of(a).agencies(registry))
                       for a in registry.agencies.values() if a.level == "department"}
        largest = registry.agencies[max(departments, key=lambda code: departments[code])]
        codes = [a.code for a in AgencyScope.of(largest).agencies(registry)]
        everyone = AgencyScope.everything()

        def agency(period: tuple[dt.date, dt.date]) -> Callable[[], Any]:
            return lambda: agency_report(store, registry, everyone, *period, largest)

        def ranking(period: tuple[dt.date, dt.date]) -> Callable[[], Any]:
            return lambda: opdc_ranking(store, registry, *period)

        def peer(sql: str, period: tuple[dt.date, dt.date]) -> Callable[[], Any]:
            def query() -> None:
                with raw.connect() as conn:
                    conn.exec_driver_sql(sql, {"start": period[0], "end": period[1], "codes": codes}).all()
            return query

        report = agency(year)()
        times = {"agency_report_12m_ms": timed(agency(year), runs), "agency_report_24m_ms": timed(agency(whole), runs),
                 "opdc_ranking_12m_ms": timed(ranking(year), runs), "opdc_ranking_24m_ms": timed(ranking(whole), runs)}
        few = max(1, runs // 2)  # the peers are slow: fewer runs
        peers = {"peer_ranking_12m_from_answers_ms": timed(peer(PEER_RANKING, year), few),
                 "peer_ranking_24m_from_answers_ms": timed(peer(PEER_RANKING, whole), few),
                 "peer_agency_12m_from_answers_ms": timed(peer(PEER_AGENCY, year), few)}
    finally:
        raw.dispose()
        store.close()
    return {
        "bench": "survey_reports", "answers": n, "days": DAYS, "rollup_rows": loaded["rollup_rows"],
        "largest_agency": largest.code, "largest_agency_codes": codes,
        "largest_agency_answers_12m": report.total.answers, **times, "target": f"each report <= {TARGET_MS} ms",
        "target_met": all(v <= TARGET_MS for v in times.values()),
        "peer": "the same ranking, and the agency breakdown with its sub-score means, by GROUP BY over "
                "survey_answers (no roll-up)", **peers,
        "database": "postgresql", "cpus": os.cpu_count(), "runs": runs,
        "load_seconds": round(loaded["load_seconds"], 1), "rollup_seconds": round(loaded["rollup_seconds"], 1),
    }


if __name__ == "__main__":
    main()
