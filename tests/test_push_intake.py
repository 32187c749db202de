"""The push intake served for real by uvicorn on 127.0.0.1, with requests as the agency's client,
on SQLite and PostgreSQL; then the push connector and ingest read what it kept; and the Airflow
plugin that mounts it, loaded by Airflow's own plugin manager in a separate process.

The records are the demo district offices' own (demo.push_backoffice): Buddhist-Era dates, Thai
status words, and two broken on purpose (index 12: 31 April; index 27: a wrong ID check digit).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

import connectors
from connectors.base import Secrets
from delayhub.errors import ConfigError
from delayhub.ingest import ingest
from delayhub.intake import create_app, sign
from delayhub.mapping import Mapping, load_mapping
from delayhub.registry import Registry
from delayhub.store import HubStore
from delayhub.store.models import PushBatch, PushRecord, Request
from demo.push_backoffice import DOPA_KEY, PushBackOffice, district_records

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 25)
DOPA = "moi-dopa-registration"
OTHER = "moi-dopa-bkk-push"  # a second pushing agency, with its own key
OTHER_KEY = "bkk-district-key"
DBD_KEY = "dbd-rest-key"
SECRETS = {"moi_dopa_intake": DOPA_KEY, "moi_dopa_bkk_intake": OTHER_KEY, "moc_dbd_backoffice": DBD_KEY}
RECORDS = district_records(TODAY)


@pytest.fixture(scope="module")
def mappings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Mapping]:
    dopa = load_mapping(ROOT / "mappings" / f"{DOPA}.yaml")
    other = tmp_path_factory.mktemp("mappings") / f"{OTHER}.yaml"
    other.write_text(dopa.text.replace(f"id: {DOPA}", f"id: {OTHER}")
                     .replace("connection_id: moi_dopa_intake", "connection_id: moi_dopa_bkk_intake"), encoding="utf-8")
    dbd = load_mapping(ROOT / "mappings" / "moc-dbd-registration.yaml")  # a REST connector: no pushes for it
    return {m.id: m for m in (dopa, load_mapping(other), dbd)}


@pytest.fixture
def intake(store: HubStore, mappings: dict[str, Mapping], registry: Registry, serve: Callable[[Any], str],
           monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    return serve(create_app(lambda: store, SECRETS.get, mappings, registry))


def post(intake: str, records: Any, *, connector: str = DOPA, key: str | None = "batch-1",
         bearer: str | None = DOPA_KEY, hmac_secret: str | None = None, stamp: int | None = None,
         body: bytes | None = None) -> requests.Response:
    """POST one batch as an agency would: a Bearer key, or an HMAC signature when hmac_secret is given."""
    body = body if body is not None else json.dumps({"records": records}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    if hmac_secret is not None:
        ts = str(int(time.time()) if stamp is None else stamp)
        headers.update({"X-Delayhub-Timestamp": ts, "X-Delayhub-Signature": sign(hmac_secret, ts, body)})
    elif bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    return requests.post(f"{intake}/v1/{connector}/batches", data=body, headers=headers, timeout=30)


def inbox(store: HubStore, connector: str = DOPA) -> list[dict[str, Any]]:
    return [r for _, r in store.pushed_records(connector, 0, 100_000)]


def stored_rows(store: HubStore) -> int:
    with store.session() as s:
        return s.query(PushRecord).count()


# --- authentication -------------------------------------------------------------------------------

def test_bearer_key_batch_lists_bad_records_and_stores_good_ones_before_answering(intake, store) -> None:
    response = post(intake, RECORDS[10:15])  # index 12 of the day's records has 31 April

    assert response.status_code == 200
    assert response.headers["Idempotent-Replayed"] == "false"
    # The records are in the inbox the moment the answer is here: read straight after, no waiting.
    assert inbox(store) == [RECORDS[i] for i in (10, 11, 13, 14)]
    answer = response.json()
    assert len(answer.pop("batch")) == 32
    assert answer == {"accepted": 4, "rejected": 1, "errors": [
        {"index": 2, "record_id": RECORDS[12]["rec_id"], "field": "submitted_on",
         "reason": "'31/04/2569' is not a real date (day is out of range for month)"}]}


def test_hmac_signed_batch_is_accepted_and_reasons_carry_no_personal_data(intake, store) -> None:
    response = post(intake, RECORDS[25:30], hmac_secret=DOPA_KEY, bearer=None)

    assert response.status_code == 200
    answer = response.json()
    assert (answer["accepted"], answer["rejected"]) == (4, 1)
    assert answer["errors"] == [{"index": 2, "record_id": RECORDS[27]["rec_id"], "field": "applicant.national_id",
                                 "reason": "check digit is wrong"}]
    assert RECORDS[27]["applicant"]["pid"] not in response.text
    assert len(inbox(store)) == 4


def test_bad_signatures_and_stale_timestamps_are_refused(intake, store) -> None:
    body = json.dumps({"records": RECORDS[:3]}, ensure_ascii=False).encode()
    tampered = body.replace(RECORDS[0]["rec_id"].encode(), b"1001-2569-999999")
    now = int(time.time())
    cases = {  # what is sent: (signed with, timestamp header, body) → the error code
        "wrong secret": ("not-the-key", now, body, "unauthorized"),
        "body changed after signing": (DOPA_KEY, now, tampered, "unauthorized"),
        "the other agency's secret": (OTHER_KEY, now, body, "unauthorized"),
        "no timestamp header": (DOPA_KEY, None, body, "stale_timestamp"),
        "six minutes old": (DOPA_KEY, now - 360, body, "stale_timestamp"),
        "six minutes ahead": (DOPA_KEY, now + 360, body, "stale_timestamp"),
    }
    for case, (secret, stamp, sent, expected) in cases.items():
        headers = {"Idempotency-Key": case, "X-Delayhub-Signature": sign(secret, "" if stamp is None else stamp, body)}
        if stamp is not None:
            headers["X-Delayhub-Timestamp"] = str(stamp)
        response = requests.post(f"{intake}/v1/{DOPA}/batches", data=sent, headers=headers, timeout=30)
        assert (response.status_code, response.json()["error"]) == (401, expected), case
    assert stored_rows(store) == 0

    fresh_enough = post(intake, RECORDS[:3], hmac_secret=DOPA_KEY, stamp=now - 240)
    assert (fresh_enough.status_code, fresh_enough.json()["accepted"]) == (200, 3)


def test_a_key_opens_only_its_own_connector_and_unknown_ids_look_the_same(intake, store) -> None:
    unknown = post(intake, RECORDS[:3], connector="no-such-agency")
    refusals = {
        "dopa key on the other agency": post(intake, RECORDS[:3], connector=OTHER),
        "dopa key signed for the other agency": post(intake, RECORDS[:3], connector=OTHER, hmac_secret=DOPA_KEY),
        "a REST connector takes no pushes": post(intake, RECORDS[:3], connector="moc-dbd-registration",
                                                 bearer=DBD_KEY),
        "no key at all": post(intake, RECORDS[:3], bearer=None),
        "Basic, not Bearer": requests.post(f"{intake}/v1/{DOPA}/batches", json={"records": []}, timeout=30,
                                           headers={"Idempotency-Key": "x", "Authorization": f"Basic {DOPA_KEY}"}),
    }
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "unauthorized"
    for what, response in refusals.items():
        assert (response.status_code, response.content) == (401, unknown.content), what
    assert stored_rows(store) == 0

    own = post(intake, RECORDS[:3], connector=OTHER, bearer=OTHER_KEY)
    assert own.status_code == 200
    assert own.json()["accepted"] == 3
    assert [len(inbox(store, OTHER)), len(inbox(store, DOPA))] == [3, 0]


# --- the batch contract -------------------------------------------------------------------------------

def test_missing_idempotency_key_is_400_in_thai_and_english(intake, store) -> None:
    response = post(intake, RECORDS[:3], key=None)

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "idempotency_key_required"
    assert "ต้องส่งหัว Idempotency-Key" in body["message_th"]
    assert "The Idempotency-Key header is required" in body["message_en"]
    assert stored_rows(store) == 0


def test_resent_batch_gets_the_first_answer_and_stores_nothing_twice(intake, store) -> None:
    first = post(intake, RECORDS[:20], key="dopa-2026-11-25-1")
    # The office re-sends it signed this time, and its JSON library spaces the body differently.
    again = post(intake, None, key="dopa-2026-11-25-1", hmac_secret=DOPA_KEY,
                 body=json.dumps({"records": RECORDS[:20]}, indent=2).encode())

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert first.json()["accepted"] == 19
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == ("false", "true")
    assert stored_rows(store) == 19
    with store.session() as s:
        assert s.query(PushBatch).count() == 1


def test_a_key_reused_for_a_different_batch_is_409_and_loses_nothing_silently(intake, store) -> None:
    assert post(intake, RECORDS[:5], key="k").status_code == 200
    response = post(intake, RECORDS[5:10], key="k")

    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert inbox(store) == RECORDS[:5]


def test_identical_batches_sent_at_once_are_stored_once(intake, store) -> None:
    def send(barrier: threading.Barrier, key: str, answers: list[requests.Response]) -> None:
        barrier.wait()  # all four leave together
        answers.append(post(intake, RECORDS[:20], key=key))

    for round_no in range(3):
        barrier, answers = threading.Barrier(4), []
        threads = [threading.Thread(target=send, args=(barrier, f"concurrent-{round_no}", answers)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in answers] == [200] * 4
        assert len({r.content for r in answers}) == 1, "every sender gets the same answer"
        assert sorted(r.headers["Idempotent-Replayed"] for r in answers) == ["false", "true", "true", "true"]
        assert stored_rows(store) == 19 * (round_no + 1)


def test_batches_over_5000_records_or_5_mb_are_413(intake, store) -> None:
    too_many = post(intake, [{"rec_id": str(i)} for i in range(5001)], key="many")
    too_big = post(intake, None, key="big", body=b'{"records": ["' + b"x" * (5 * 1024 * 1024) + b'"]}')

    assert (too_many.status_code, too_big.status_code) == (413, 413)
    assert too_many.json()["error"] == too_big.json()["error"] == "batch_too_large"
    assert "5,000" in too_many.json()["message_th"]
    assert "5,242,880" in too_big.json()["message_en"]
    assert stored_rows(store) == 0


def test_not_json_or_no_records_list_is_400(intake) -> None:
    for body in (b"rec_id,req_no\n1,2", b'{"items": []}', b'[{"rec_id": "1"}]'):
        response = post(intake, None, body=body, key=body.hex()[:40])
        assert (response.status_code, response.json()["error"]) == (400, "records_required")


def test_health_answers_when_the_store_does(intake) -> None:
    response = requests.get(f"{intake}/v1/health", timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


# --- the connector and ingest ------------------------------------------------------------------------

def test_push_connector_pages_the_inbox_and_ingest_stores_each_record_once(intake, store, mappings,
                                                                            registry) -> None:
    for n, start in enumerate((0, 20)):
        assert post(intake, RECORDS[start:start + 20], key=f"day-{n}").status_code == 200
    mapping = mappings[DOPA]
    connector = connectors.build({**mapping.source, "page_size": 15}, Secrets(password=DOPA_KEY), store, DOPA)

    pages = list(connector.read(None))
    good = [r for i, r in enumerate(RECORDS) if i not in (12, 27)]
    assert [len(p.records) for p in pages] == [15, 15, 8]
    assert [r for p in pages for r in p.records] == good
    ids = [i for i, _ in store.pushed_records(DOPA, 0, 100)]
    assert [p.cursor for p in pages] == [str(ids[14]), str(ids[29]), str(ids[37])]
    assert connector.check() == (True, f"38 pushed record(s) waiting for ingest in total in the push inbox of '{DOPA}'")

    first = ingest(mapping, connector, store, registry)
    assert (first["read"], first["inserted"], first["quarantined"], first["cursor"]) == (38, 38, 0, str(ids[37]))
    with store.session() as s:
        rows = {r.source_record_id: r for r in s.scalars(select(Request).where(Request.source_connector == DOPA))}
    assert len(rows) == 38
    r0 = rows[RECORDS[0]["rec_id"]]
    assert (r0.request_no, r0.manual_id, r0.process_code, r0.department, r0.division) == (
        RECORDS[0]["req_no"], "MOI-DOPA-001", "DOPA-BORA-01", "MOI-DOPA", "MOI-DOPA-BORA")
    day, month, be_year = RECORDS[0]["receive_date"].split("/")
    assert r0.submitted_on == dt.date(int(be_year) - 543, int(month), int(day))

    second = ingest(mapping, connector, store, registry)
    assert (second["read"], second["cursor"]) == (0, str(ids[37]))
    assert connector.check()[1].startswith(f"0 pushed record(s) waiting for ingest after record {ids[37]}")

    changed = dict(RECORDS[1], status="ออกบัตรแล้ว", issue_date=RECORDS[1]["receive_date"])
    assert post(intake, [changed], key="day-2").json()["accepted"] == 1
    third = ingest(mapping, connector, store, registry)
    assert (third["read"], third["updated"]) == (1, 1)
    with store.session() as s:
        assert s.scalar(select(Request.status).where(Request.source_record_id == changed["rec_id"])) == "completed"


def test_discover_finds_the_newest_record_past_other_agencies_pushes(intake, store, mappings) -> None:
    assert post(intake, RECORDS[:3], key="a").status_code == 200
    store.accept_push(OTHER, "bulk", [{"rec_id": str(i)} for i in range(2500)], {"rejected": 0})
    newest = dict(RECORDS[3], queue_no="Q-017")  # the district system added a field
    assert post(intake, [RECORDS[4], newest], key="b").status_code == 200

    connector = connectors.build(mappings[DOPA].source, Secrets(password=DOPA_KEY), store, DOPA)
    paths = connector.discover()
    assert "queue_no" in paths
    assert {"rec_id", "receive_date", "status", "office.code", "applicant.pid"} <= set(paths)
    assert connectors.build(mappings[DOPA].source, Secrets(), store, "empty-one").discover() == []


def test_push_connector_without_the_store_or_a_key_says_what_is_missing(sqlite_store, mappings) -> None:
    with pytest.raises(ConfigError, match="needs the hub store"):
        connectors.build(mappings[DOPA].source, Secrets(password=DOPA_KEY), None, DOPA)
    ok, message = connectors.build(mappings[DOPA].source, Secrets(), sqlite_store, DOPA).check()
    assert not ok
    assert "'moi_dopa_intake' holds no key" in message


# --- the demo peer --------------------------------------------------------------------------------

def test_demo_office_pushes_twice_and_its_resend_is_harmless(store_url: str, monkeypatch) -> None:
    monkeypatch.setenv("DELAYHUB_TODAY", TODAY.isoformat())
    office = PushBackOffice(store_url, today=TODAY).start()
    office.stop()
    assert [(a["status"], a["answer"]["accepted"], a["answer"]["rejected"], a["replayed"]) for a in office.answers] \
        == [(200, 19, 1, False), (200, 19, 1, False), (200, 19, 1, True)]
    env = office.connection_env()
    assert json.loads(env["AIRFLOW_CONN_MOI_DOPA_INTAKE"])["password"] == DOPA_KEY
    hub = HubStore.open(store_url)
    try:
        assert len(inbox(hub)) == 38
    finally:
        hub.close()


# --- the Airflow plugin ------------------------------------------------------------------------------

PLUGIN_PROBE = """
import json, os, requests
from fastapi import FastAPI
from airflow import plugins_manager
from airflow.api_fastapi.app import init_plugins
from delayhub.intake import IntakeServer

apps, _ = plugins_manager.get_fastapi_plugins()
root = FastAPI()
init_plugins(root)  # as the API server mounts plugin apps
server = IntakeServer(root).start()
url = server.url + "/intake/v1/moi-dopa-registration/batches"
body = {"records": json.loads(os.environ["PROBE_RECORDS"])}
send = lambda key: requests.post(url, json=body, timeout=30,
                                 headers={"Authorization": "Bearer probe-key", "Idempotency-Key": key})
before = send("before")
os.environ["AIRFLOW_CONN_MOI_DOPA_INTAKE"] = json.dumps({"conn_type": "http", "password": "probe-key"})
after = send("after")
health = requests.get(server.url + "/intake/v1/health", timeout=10)
server.stop()
print(json.dumps({"apps": [{"name": a["name"], "url_prefix": a["url_prefix"], "type": type(a["app"]).__name__}
                           for a in apps],
                  "errors": plugins_manager.get_import_errors(),
                  "before": before.status_code, "after": after.status_code, "answer": after.json(),
                  "health": health.json()}))
"""


@pytest.mark.airflow
def test_airflow_loads_the_plugin_and_serves_the_intake_under_intake(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(DELAYHUB_ROOT=str(ROOT), DELAYHUB_VAR=str(tmp_path / "var"), DELAYHUB_DATABASE_URL=f"sqlite:///{db}",
               AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW_CONFIG=str(ROOT / "airflow.cfg"),
               PYTHONPATH=os.pathsep.join([str(ROOT / "plugins"), env.get("PYTHONPATH", "")]),
               PROBE_RECORDS=json.dumps(RECORDS[10:14], ensure_ascii=False))
    done = subprocess.run([sys.executable, "-c", PLUGIN_PROBE], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    assert {"name": "delayhub intake", "url_prefix": "/intake", "type": "FastAPI"} in out["apps"]
    assert not [path for path in out["errors"] if path.endswith("delayhub_plugin.py")]
    assert out["before"] == 401, "no Connection yet: the import worked and the push is refused"
    assert out["after"] == 200, "the key now comes from the Connection through BaseHook"
    assert (out["answer"]["accepted"], out["answer"]["rejected"]) == (3, 1)
    assert out["health"] == {"status": "ok"}
    hub = HubStore.open(f"sqlite:///{db}")
    try:
        assert inbox(hub) == [RECORDS[i] for i in (10, 11, 13)]
    finally:
        hub.close()
