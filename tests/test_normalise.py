"""Back-office records to standard requests, with the real registry and mapping files."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from pathlib import Path

import pytest

from delayhub.mapping import load_mapping
from delayhub.normalise import checksum, national_id_valid, normalise
from demo.backoffice import dbd_records, fda_records

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
TODAY = dt.date(2026, 11, 25)
FETCHED = dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def dbd():
    return load_mapping(MAPPINGS / "moc-dbd-registration.yaml")


@pytest.fixture(scope="module")
def fda():
    return load_mapping(MAPPINGS / "moph-fda-esubmission.yaml")


def _quarantined(records, mapping, registry):
    outcomes = [normalise(raw, mapping, registry, FETCHED) for raw in records]
    return {o.record_id: o for o in outcomes if o.problems}, [o for o in outcomes if o.request]


DBD_BROKEN = {
    "A000007": ("request_no", "is required but missing"),
    "A000018": ("submitted_on", "'31/02/2569' is not a real date"),
    "A000030": ("status", "status word 'ส่งเรื่องให้หน่วยงานอื่น' is not in the mapping's statuses"),
    "A000042": ("applicant.national_id", "check digit is wrong"),
    "A000054": ("manual_id", "manual 'MOC-DBD-999' is not in the registry"),
    "A000066": ("applicant.email", "does not have the expected form"),
}
FDA_BROKEN = {
    "90012": ("submitted_on", "'ไม่ระบุ' is not a date"),
    "90024": ("manual_id", "manual 'MOC-DBD-001' belongs to MOC-DBD, not MOPH-FDA"),
}


@pytest.mark.parametrize(
    ("connector", "make", "n", "broken"),
    [
        pytest.param("dbd", dbd_records, 200, DBD_BROKEN, id="dbd"),
        pytest.param("fda", fda_records, 60, FDA_BROKEN, id="fda"),
    ],
)
def test_exactly_the_broken_records_are_quarantined(request, registry, connector, make, n, broken) -> None:
    mapping = request.getfixturevalue(connector)
    quarantined, good = _quarantined(make(TODAY), mapping, registry)
    assert set(quarantined) == set(broken)
    assert len(good) == n - len(broken)
    for record_id, (field, reason) in broken.items():
        problems = quarantined[record_id].problems
        assert [p.field for p in problems] == [field], record_id
        assert reason in problems[0].reason, record_id


def _personal_values(raw):
    person = raw.get("applicant") or raw.get("contact") or {}
    values = set()
    for key in ("pid", "citizenId", "mobile", "phone", "email"):
        value = person.get(key)
        if value:
            values.add(str(value))
            digits = re.sub(r"\D", "", str(value).translate(str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")))
            if len(digits) >= 9:
                values.add(digits)
                values.add(digits[-9:])  # the number without its 0 / +66 prefix
    return values


PDPA_EXTRA = [
    pytest.param("applicant.mobile", "081-234", "applicant.phone", id="phone-too-short"),
    pytest.param("applicant.mobile", "+1 415 555 0100", "applicant.phone", id="foreign-phone"),
    pytest.param("applicant.pid", "110170023070", "applicant.national_id", id="national-id-12-digits"),
    pytest.param("applicant.pid", "1101700230709", "applicant.national_id", id="national-id-bad-check"),
    pytest.param("applicant.email", "somchai.jaidee@example", "applicant.email", id="email-no-dot"),
]


def _dbd_raw(**applicant):
    person = {"full_name": "นางสาวกนกพร ศรีสุข", "pid": "1101700230708", "mobile": "๐๘๑๒๓๔๕๖๗๘",
              "email": "kanokporn@example.co.th", "addr": "99/9 หมู่ 3 จังหวัดนนทบุรี 11000"}
    person.update(applicant)
    return {
        "app_id": "A900001", "app_no": "ทบ.2569/90001", "unit_code": "FBL", "svc_code": None,
        "manual_ref": "MOC-DBD-005", "recv_date": "๒/๑๑/๒๕๖๙", "docs_complete_date": "2569-11-03",
        "state": "อยู่ระหว่างพิจารณา", "finish_date": None, "late_reason": None, "applicant": person,
        "last_update": "2569-11-24 09:00:00",
    }


def test_no_quarantine_reason_shows_personal_data(registry, dbd, fda) -> None:
    checked = 0
    for records, mapping in ((dbd_records(TODAY), dbd), (fda_records(TODAY), fda)):
        for raw in records:
            outcome = normalise(raw, mapping, registry, FETCHED)
            for problem in outcome.problems or []:
                checked += 1
                for value in _personal_values(raw):
                    assert value not in problem.reason, (outcome.record_id, problem.field)
    assert checked == len(DBD_BROKEN) + len(FDA_BROKEN)


@pytest.mark.parametrize(("key", "value", "field"), PDPA_EXTRA)
def test_bad_personal_value_is_quarantined_without_showing_it(registry, dbd, key, value, field) -> None:
    raw = _dbd_raw(**{key.split(".")[1]: value})
    outcome = normalise(raw, dbd, registry, FETCHED)
    assert outcome.request is None
    assert [p.field for p in outcome.problems] == [field]
    reason = outcome.problems[0].reason
    assert value not in reason
    digits = re.sub(r"\D", "", value)
    assert not digits or digits not in reason


def test_good_dbd_record(registry, dbd) -> None:
    raw = _dbd_raw()
    outcome = normalise(raw, dbd, registry, FETCHED)
    assert outcome.problems is None
    request = outcome.request
    source = request.pop("source")
    assert request == {
        "agency": {"ministry": "MOC", "department": "MOC-DBD", "division": "MOC-DBD-FBL"},
        "request_no": "ทบ.2569/90001",
        "manual_id": "MOC-DBD-005",
        "process_code": "DBD-FBL-01",  # svc_code is empty: taken from the manual
        "submitted_on": "2026-11-02",  # ๒/๑๑/๒๕๖๙
        "clock_started_on": "2026-11-03",  # 2569-11-03
        "status": "in_progress",
        "applicant": {
            "name": "นางสาวกนกพร ศรีสุข",
            "national_id": "1101700230708",
            "phone": "0812345678",
            "email": "kanokporn@example.co.th",
            "address": "99/9 หมู่ 3 จังหวัดนนทบุรี 11000",
            "channels": ["email", "sms", "letter"],
        },
    }
    assert source["connector"] == "moc-dbd-registration"
    assert source["record_id"] == "A900001"
    assert source["fetched_at"] == "2026-11-25T03:00:00+00:00"
    assert source["checksum"] == outcome.checksum


def test_good_dbd_record_keeps_its_own_process_code_and_dashed_phone(registry, dbd) -> None:
    raw = _dbd_raw(mobile="089-876-5432")
    raw.update(unit_code="REG", svc_code="DBD-REG-02", manual_ref="MOC-DBD-002", state="อนุมัติ",
               finish_date="24/11/2569", recv_date="20/11/2569", docs_complete_date=None)
    request = normalise(raw, dbd, registry, FETCHED).request
    assert request["process_code"] == "DBD-REG-02"
    assert request["agency"]["division"] == "MOC-DBD-REG"
    assert request["applicant"]["phone"] == "0898765432"
    assert request["status"] == "completed"
    assert request["completed_on"] == "2026-11-24"
    assert request["submitted_on"] == "2026-11-20"
    assert "clock_started_on" not in request


def test_good_fda_record(registry, fda) -> None:
    raw = {
        "id": 91001, "referenceNumber": "FDA-2569-9001", "unit": "DRUG", "manualCode": "MOPH-FDA-003",
        "submittedDate": "2569-10-01", "status": "APPROVED", "decisionDate": "2026-11-20", "delayNote": None,
        "contact": {"name": "นายอนุชา ทองคำ", "citizenId": "1000000000050", "phone": "+66891234567",
                    "email": None},
        "modifiedAt": "2026-11-20T09:00:00+07:00",
    }
    outcome = normalise(raw, fda, registry, FETCHED)
    assert outcome.problems is None
    assert outcome.record_id == "91001"
    request = outcome.request
    assert request["agency"] == {"ministry": "MOPH", "department": "MOPH-FDA", "division": "MOPH-FDA-DRUG"}
    assert request["process_code"] == "FDA-DRUG-01"  # the FDA mapping has no process field
    assert request["submitted_on"] == "2026-10-01"
    assert request["completed_on"] == "2026-11-20"
    assert request["status"] == "completed"
    assert request["applicant"] == {"name": "นายอนุชา ทองคำ", "national_id": "1000000000050",
                                    "phone": "0891234567", "channels": ["sms"]}


def test_checksum_is_canonical_json_sha256() -> None:
    raw = {"b": "ก", "a": 1}
    assert checksum(raw) == hashlib.sha256('{"a":1,"b":"ก"}'.encode()).hexdigest()


def test_checksum_stable_and_sensitive() -> None:
    raw = _dbd_raw()
    same = copy.deepcopy(raw)
    reordered = dict(reversed(list(copy.deepcopy(raw).items())))
    changed = copy.deepcopy(raw)
    changed["state"] = "อนุมัติ"
    nested_change = copy.deepcopy(raw)
    nested_change["applicant"]["email"] = "other@example.co.th"
    assert checksum(raw) == checksum(same) == checksum(reordered)
    assert re.fullmatch(r"[0-9a-f]{64}", checksum(raw))
    assert checksum(changed) != checksum(raw)
    assert checksum(nested_change) != checksum(raw)


@pytest.mark.parametrize(
    ("nid", "valid"),
    [
        pytest.param("1101700230708", True, id="valid"),
        pytest.param("1000000000050", True, id="valid-remainder-1-gives-check-0"),
        pytest.param("1000100000001", True, id="valid-remainder-0-gives-check-1"),
        pytest.param("1101700230709", False, id="wrong-check-digit"),
        pytest.param("110170023070", False, id="12-digits"),
        pytest.param("11017002307080", False, id="14-digits"),
        pytest.param("1-1017-00230-70-8", False, id="with-dashes"),
        pytest.param("", False, id="empty"),
    ],
)
def test_national_id_valid(nid: str, valid: bool) -> None:
    assert national_id_valid(nid) is valid
