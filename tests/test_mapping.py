"""Connector mapping files: the shipped ones load; broken ones are refused with the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from delayhub.errors import ConfigError
from delayhub.mapping import FieldSpec, load_all, load_mapping

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


@pytest.mark.parametrize("path", sorted(MAPPINGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_mapping_loads(path: Path) -> None:
    mapping = load_mapping(path)
    assert mapping.id == path.stem
    assert mapping.dag_id == "ingest_" + path.stem.replace("-", "_")
    assert {"request_no", "manual_id", "submitted_on", "status"} <= set(mapping.fields)


def test_there_are_shipped_mappings() -> None:
    assert {p.stem for p in MAPPINGS.glob("*.yaml")} >= {"moc-dbd-registration", "moph-fda-esubmission"}


def test_dbd_mapping_contents() -> None:
    mapping = load_mapping(MAPPINGS / "moc-dbd-registration.yaml")
    assert mapping.dag_id == "ingest_moc_dbd_registration"
    assert mapping.agency == {"ministry": "MOC", "department": "MOC-DBD"}
    assert mapping.schedule == "@hourly"
    assert mapping.id_path == "app_id"
    assert mapping.fields["request_no"] == FieldSpec(path="app_no", transform="text")
    assert mapping.fields["submitted_on"] == FieldSpec(path="recv_date", transform="date")
    assert mapping.fields["agency.division"].map == {"REG": "MOC-DBD-REG", "FBL": "MOC-DBD-FBL"}
    assert mapping.statuses["รอเอกสารเพิ่มเติมจากผู้ยื่นคำขอ"] == "waiting_applicant"
    assert mapping.default_delay_reason("DBD-FBL-01") == "อยู่ระหว่างเสนอคณะกรรมการการประกอบธุรกิจของคนต่างด้าวพิจารณา"
    assert mapping.default_delay_reason("DBD-REG-01") == "อยู่ระหว่างการตรวจสอบเอกสารและข้อเท็จจริงประกอบการพิจารณา"
    assert mapping.default_delay_reason(None) == "อยู่ระหว่างการตรวจสอบเอกสารและข้อเท็จจริงประกอบการพิจารณา"


def test_fda_mapping_schedule_and_dag_id() -> None:
    mapping = load_mapping(MAPPINGS / "moph-fda-esubmission.yaml")
    assert mapping.dag_id == "ingest_moph_fda_esubmission"
    assert mapping.schedule == "0 */2 * * *"
    assert mapping.source["paginator"] == {"type": "next_link", "next_path": "links.next"}


# A small valid mapping; each invalid case below changes one thing. `ID` becomes the case id,
# which is also the file name, so only the id-mismatch case fails the id rule.
GOOD = """\
id: ID
title: Test back office
agency: {ministry: MOC, department: MOC-DBD}
source:
  type: rest
  connection_id: test_backoffice
  path: /api/records
  paginator: {type: page_number, page_size: 50}
record:
  id_path: id
fields:
  request_no: ref
  manual_id: manual
  submitted_on: {path: received, transform: date}
  status: {path: state, transform: status}
statuses:
  OPEN: in_progress
  DONE: completed
"""

SOURCE_BLOCK = """\
source:
  type: rest
  connection_id: test_backoffice
  path: /api/records
  paginator: {type: page_number, page_size: 50}
"""

INVALID = [
    pytest.param("missing-source", GOOD.replace(SOURCE_BLOCK, ""), ["source", "is required"],
                 id="missing-source"),
    pytest.param("bad-paginator", GOOD.replace("{type: page_number, page_size: 50}", "{type: cursor}"),
                 ["source.paginator"], id="unknown-paginator-type"),
    pytest.param("bad-status", GOOD.replace("DONE: completed", "DONE: finished"),
                 ["statuses.DONE", "'finished' is not one of the allowed values"], id="bad-status-value"),
    pytest.param("id-mismatch", GOOD.replace("id: ID", "id: another-connector"),
                 ["id:", "'another-connector' must match the file name 'id-mismatch'"], id="id-not-file-name"),
    pytest.param("unknown-field", GOOD.replace("  manual_id: manual\n", "  manual_no: manual\n"),
                 ["fields", "'manual_no' is not one of the allowed values"], id="unknown-field-name"),
    pytest.param("bad-transform", GOOD.replace("transform: date", "transform: thai_date"),
                 ["fields.submitted_on", "'thai_date' is not one of the allowed values"], id="unknown-transform"),
    pytest.param("yaml-syntax", GOOD.replace("  OPEN: in_progress", "  OPEN: [in_progress"),
                 ["not valid YAML", "line 17"], id="yaml-syntax-error"),
]


@pytest.mark.parametrize(("case_id", "text", "fragments"), INVALID)
def test_invalid_mapping_error_names_file_and_field(tmp_path: Path, case_id: str, text: str,
                                                    fragments: list[str]) -> None:
    path = tmp_path / f"{case_id}.yaml"
    path.write_text(text.replace("id: ID", f"id: {case_id}"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    message = str(info.value)
    assert f"{case_id}.yaml" in message
    for fragment in fragments:
        assert fragment in message


def test_the_good_template_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "good-one.yaml"
    path.write_text(GOOD.replace("id: ID", "id: good-one"), encoding="utf-8")
    assert load_mapping(path).dag_id == "ingest_good_one"


def test_one_broken_agency_blocks_nothing(tmp_path: Path) -> None:
    (tmp_path / "aa-broken.yaml").write_text(GOOD.replace("id: ID", "id: aa-broken").replace(
        "DONE: completed", "DONE: finished"), encoding="utf-8")
    (tmp_path / "zz-good.yaml").write_text(GOOD.replace("id: ID", "id: zz-good"), encoding="utf-8")
    good, bad = load_all(tmp_path)
    assert [m.id for m in good] == ["zz-good"]
    assert len(bad) == 1
    assert "aa-broken.yaml" in str(bad[0])
    assert bad[0].path == "statuses.DONE"
