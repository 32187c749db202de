"""The desk's request list and the citizen's tracking look-up with 1 million requests in PostgreSQL.

A fresh PostgreSQL database is migrated and filled with N requests (one INSERT … SELECT over
generate_series: the 13 manuals of the registry, so every division and department with one; a spread
of statuses, submission and due dates; three in four with a mobile number). The web application runs
as deployed (``uvicorn --factory delayhub.web.app:create_app``, two workers) and Debian's ``wrk``
GETs, through ``bench/web_pages.lua``:

- desk: the list of ``officer.moc-dbd-reg`` (the largest division), signed in once, over a rotating
  mix of filters (none, each status, open, overdue, a number prefix) and pages (first, or a keyset
  cursor somewhere in the list);
- tracking: the look-up, answered 303 to the result: half from a letter's QR code (GET
  ``/track?no=…&code=…`` with the tracking code), half typed into the form with the last four digits
  of the mobile number (POST with the form's CSRF token: the GET looks up codes only); each from one
  of 1,000 client addresses per wrk thread, given as X-Forwarded-For (uvicorn trusts it from
  127.0.0.1), as a reverse proxy passes citizens' addresses on. From the single loopback address,
  more than 10 look-ups in flight at once would hit the per-client limit (attempts are counted before
  they are checked); every look-up here matches, so its attempt is given back and no limit is reached;
- tracking_view: the result page the look-up leads to (a signed token per request);
- the peer: ``/health``, the same server and loop without a template or a query: the ceiling.

Each at 50 clients (pages per second) and at 20 (latency percentiles). Any answer but the expected
one counts as an error. Prints one JSON line; the database is dropped whatever happens. Latency tails
grow many times over when other work shares the machine: run it on a quiet one.

    .venv/bin/python bench/web_pages.py [-n 1000000] [--seconds 10] [--workers 2]

Needs PostgreSQL (DELAYHUB_TEST_PG, default postgres@127.0.0.1) and ``wrk`` (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
import sqlalchemy
from _common import ROOT, run_with_wrk, run_wrk, web_app

from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.tracking import display_code, tracking_code
from delayhub.web.accounts import seed_demo_accounts

LUA = ROOT / "bench" / "web_pages.lua"
SECRET = "bench-web-pages-secret-" + "w" * 40
PII_KEY = "bench-web-pages-pii-key"
OFFICER, PASSWORD, DIVISION = "officer.moc-dbd-reg", "officer-demo-2569", "MOC-DBD-REG"
ADDRESSES = 1000  # client addresses per wrk thread for the tracking runs
# (what the status column holds, its share in percent): most finished, a fifth still in work
STATUS_SHARES = (("received", 12), ("in_progress", 18), ("waiting_applicant", 5), ("completed", 50),
                 ("rejected", 7), ("withdrawn", 8))


def fill(url: str, n: int, registry: Registry, today: dt.date) -> float:
    """N requests spread over the registry's manuals, in one statement; returns the seconds taken."""
    manuals = sorted(registry.manuals.values(), key=lambda m: m.manual_id)
    rows = []
    for i, m in enumerate(manuals):
        department = registry.department_of(m.division)
        rows.append(f"({i}, '{m.manual_id}', '{m.division}', '{department.code}', '{department.parent}', "
                    f"'{m.process_code}', '{department.code.split('-')[-1]}')")
    cases, low = [], 0
    for status, share in STATUS_SHARES:
        low += share
        cases.append(f"WHEN (g * 37) % 100 < {low} THEN '{status}'")
    sql = f"""
        INSERT INTO requests (agency, request_no, ministry, department, division, process_code, manual_id,
            submitted_on, clock_started_on, pauses, status, completed_on, applicant_name, applicant_phone,
            applicant_language, consent, source_connector, source_record_id, source_fetched_at, checksum,
            due_on, due_basis, derived_pauses, known_on, last_delay_seq, result_queued, needs_sweep,
            created_at, updated_at)
        SELECT m.department, m.prefix || '/' || (2568 + g % 2) || '/' || lpad(g::text, 7, '0'), m.ministry,
            m.department, m.division, m.process_code, m.manual_id, s.submitted, s.submitted, '[]', s.status,
            CASE WHEN s.status IN ('completed', 'rejected') THEN least(DATE '{today}', s.submitted + g % 60) END,
            'ผู้ยื่นคำขอ ' || g,
            CASE WHEN g % 4 <> 0 THEN '08' || lpad(((g::bigint * 48271) % 100000000)::text, 8, '0') END,
            'th', true, 'bench', g::text, now(), md5(g::text) || md5(g::text || 'x'),
            s.submitted + 15 + g % 45, 'bench', '[]', s.submitted, g % 3, false, false, now(), now()
        FROM generate_series(1, {n}) AS g
        JOIN (VALUES {", ".join(rows)}) AS m(i, manual_id, division, department, ministry, process_code, prefix)
          ON m.i = g % {len(manuals)}
        CROSS JOIN LATERAL (SELECT DATE '{today}' - (g * 7) % 730 AS submitted,
                                   CASE {" ".join(cases)} END AS status) AS s
    """
    engine = sqlalchemy.create_engine(url)
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.connection.driver_connection.execute(sql)  # no parameters: its % are SQL's
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE requests")
    engine.dispose()
    return time.perf_counter() - start


def desk_paths(url: str, folder: Path) -> tuple[Path, dict[str, list[str]]]:
    """The list's URLs, by kind: every filter's first page and pages at cursors across the division."""
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM requests WHERE division = %s ORDER BY random() LIMIT 40", (DIVISION,))]
        numbers = [r[0] for r in conn.exec_driver_sql(
            "SELECT request_no FROM requests WHERE division = %s ORDER BY random() LIMIT 40", (DIVISION,))]
    engine.dispose()
    kinds: dict[str, list[str]] = {"all": [], "status": [], "open": [], "overdue": [], "number_prefix": []}
    for i, cursor in enumerate([None, *ids]):
        after = f"&after={cursor}" if cursor else ""
        kinds["all"].append(f"/desk?{after[1:]}" if after else "/desk")
        kinds["status"].append(f"/desk?status={STATUS_SHARES[i % len(STATUS_SHARES)][0]}{after}")
        kinds["open"].append(f"/desk?status=open{after}")
        kinds["overdue"].append(f"/desk?overdue=1{after}")
    for number in numbers:  # a prefix as typed in the search box, first page and onwards
        prefix = number[:-3]
        kinds["number_prefix"] += ["/desk?" + urlencode({"q": prefix}),
                                   "/desk?" + urlencode({"q": prefix, "after": number})]
    mixed = [p for group in zip(*kinds.values(), strict=False) for p in group]
    path = folder / "desk.txt"
    path.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    return path, kinds


def tracking_paths(url: str, folder: Path, base: str) -> tuple[Path, list[str], str]:
    """Look-ups of 5,000 requests: from the QR code (GET, tracking code), or typed into the form with
    the mobile's last four digits (POST, with the CSRF token of an anonymous session). Also returns
    that session's cookie."""
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as conn:
        rows = list(conn.exec_driver_sql(
            "SELECT agency, request_no, applicant_phone FROM requests ORDER BY random() LIMIT 5000"))
    engine.dispose()
    http = requests.Session()
    token = csrf_of(http.get(f"{base}/track", timeout=10).text)
    qr, lines = [], []
    for i, (agency, number, phone) in enumerate(rows):
        if phone and i % 2:
            lines.append("/track\t" + urlencode({"no": number, "factor": phone[-4:], "csrf_token": token}))
        else:
            qr.append("/track?" + urlencode({"no": number, "code": display_code(tracking_code(agency, number))}))
            lines.append(qr[-1])
    path = folder / "tracking.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, qr, "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def csrf_of(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError("no CSRF token on the form")
    return token.group(1)


def wrk(base: str, paths: Path, clients: int, seconds: int, expected: int, *, cookie: str = "-",
        addresses: int = 0) -> dict[str, Any]:
    result = run_wrk(base, LUA, clients, seconds, str(paths), cookie, str(addresses))
    ok = result["statuses"].get(str(expected), 0)
    return {"clients": clients, "pages_per_s": round(ok / (result["duration_us"] / 1e6)),
            "p50_ms": round(result["p50_us"] / 1000, 1), "p95_ms": round(result["p95_us"] / 1000, 1),
            "p99_ms": round(result["p99_us"] / 1000, 1),
            "errors": result["requests"] - ok + result["socket_errors"],
            "statuses": result["statuses"]}


def measure(base: str, paths: Path, seconds: int, expected: int, **kw: Any) -> dict[str, Any]:
    """Pages per second at 50 clients, latency at 20, errors of both runs."""
    high = wrk(base, paths, 50, seconds, expected, **kw)
    low = wrk(base, paths, 20, seconds, expected, **kw)
    return {"pages_per_s_50": high["pages_per_s"], "p50_ms_20": low["p50_ms"], "p95_ms_20": low["p95_ms"],
            "p99_ms_20": low["p99_ms"], "errors": high["errors"] + low["errors"],
            "statuses": {"c50": high["statuses"], "c20": low["statuses"]}}


def sign_in(base: str) -> requests.Session:
    """The officer's session, signed in through the login form (with its CSRF token)."""
    http = requests.Session()
    token = csrf_of(http.get(f"{base}/login", timeout=10).text)
    answer = http.post(f"{base}/login", data={"username": OFFICER, "password": PASSWORD, "next": "/desk",
                                              "csrf_token": token}, allow_redirects=False, timeout=30)
    if answer.status_code != 303:
        raise RuntimeError(f"signing in answered {answer.status_code}")
    return http


def one_client_ms(http: requests.Session, base: str, kinds: dict[str, list[str]]) -> dict[str, float]:
    """Median latency of each kind of list page with nobody else on the server: which filter is slow."""
    out = {}
    for kind, paths in kinds.items():
        times = []
        for path in paths[:20]:
            start = time.perf_counter()
            answer = http.get(base + path, allow_redirects=False, timeout=30)
            times.append(time.perf_counter() - start)
            if answer.status_code != 200:
                raise RuntimeError(f"{path} answered {answer.status_code}")
        out[kind] = round(statistics.median(times) * 1000, 1)
    return out


def view_paths(base: str, lookups: list[str], folder: Path) -> Path:
    """Result pages of 200 look-ups (each from its own address, as the wrk runs do)."""
    views = []
    for i, path in enumerate(lookups[:200]):
        answer = requests.get(base + path, headers={"X-Forwarded-For": f"10.9.{i // 250}.{i % 250 + 1}"},
                              allow_redirects=False, timeout=30)
        if answer.status_code != 303:
            raise RuntimeError(f"{path} answered {answer.status_code}")
        views.append(answer.headers["location"].removeprefix(base))
    path = folder / "views.txt"
    path.write_text("\n".join(views) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000, help="requests in the store (default 1,000,000)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    run_with_wrk("delayhub-bench-web", run, args)


def run(url: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "DELAYHUB_DATABASE_URL": url, "DELAYHUB_WEB_SECRET": SECRET,
           "DELAYHUB_PII_KEY": PII_KEY, "DELAYHUB_VAR": str(tmp / "var"), "DELAYHUB_ROOT": str(ROOT)}
    os.environ.update({k: env[k] for k in ("DELAYHUB_PII_KEY", "DELAYHUB_VAR")})
    registry = Registry.load()
    store = HubStore.open(url)  # migrated
    seed_demo_accounts(store, registry)
    store.close()
    today = dt.date.today()
    load_seconds = fill(url, args.n, registry, today)
    desk_file, kinds = desk_paths(url, tmp)
    health_file = tmp / "health.txt"
    health_file.write_text("/health\n", encoding="utf-8")

    with web_app(env, args.workers, "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1") as base:
        http = sign_in(base)
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        track_file, lookups, anonymous = tracking_paths(url, tmp, base)
        single = one_client_ms(http, base, kinds)
        views_file = view_paths(base, lookups, tmp)

        # Warm up: every worker loads its templates, registry and desk rules, and fills its pool.
        wrk(base, desk_file, 50, 3, 200, cookie=cookie)
        wrk(base, track_file, 50, 3, 303, cookie=anonymous, addresses=ADDRESSES)
        s = args.seconds
        desk = {**measure(base, desk_file, s, 200, cookie=cookie), "one_client_median_ms": single}
        tracking = measure(base, track_file, s, 303, cookie=anonymous, addresses=ADDRESSES)
        view = measure(base, views_file, s, 200)
        health = measure(base, health_file, s, 200)
    return {
        "bench": "web_pages", "requests": args.n, "desk_list": desk, "tracking": tracking,
        "tracking_view": view, "target": "p95 <= 100 ms at 20 clients",
        "target_met": all(x["p95_ms_20"] <= 100 for x in (desk, tracking, view)),
        "peer": "GET /health on the same server and wrk loop (no template, no query): the ceiling",
        "peer_health": health, "database": "postgresql", "uvicorn_workers": args.workers,
        "cpus": os.cpu_count(), "wrk_seconds": s, "load_seconds": round(load_seconds, 1),
        "rate_limiter": "untouched; each look-up from its own client address (X-Forwarded-For, trusted "
                        "from 127.0.0.1), every one a match, so its attempt is given back",
    }


if __name__ == "__main__":
    main()
