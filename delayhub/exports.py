"""The OPDC's daily export: every notice sent on a day, as CSV (Excel opens it) and JSON.

Section 10 has the agency send the OPDC a copy of every notice; besides the copy by email, the
OPDC gets one file a day it can load into its own reports. Applicants' contact details are not
in it (the OPDC needs the notice, not the phone number).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .config import TIMEZONE
from .store import HubStore
from .store.models import Outbox, Request

COLUMNS = ("notice_key", "agency", "ministry", "department", "division", "request_no", "manual_id", "kind",
           "sequence", "owed_on", "late_days", "sent_at", "channels")


def notices_sent_on(store: HubStore, day: dt.date) -> list[dict[str, Any]]:
    """One row per notice (all its channels together) whose first delivery was on ``day`` (Bangkok)."""
    start = dt.datetime.combine(day, dt.time(), TIMEZONE)
    end = start + dt.timedelta(days=1)
    with store.session() as s:
        rows = s.execute(select(Outbox, Request).join(Request, Request.id == Outbox.request_id)
                         .where(Outbox.status == "sent", Outbox.sent_at >= start, Outbox.sent_at < end,
                                Outbox.kind.in_(("delay", "result")))
                         .order_by(Request.agency, Request.request_no, Outbox.kind, Outbox.sequence))
        notices: dict[tuple[int, str, int], dict[str, Any]] = {}
        for out, req in rows:
            key = (req.id, out.kind, out.sequence)
            item = notices.setdefault(key, {
                "notice_key": f"{req.agency}/{req.request_no}/{out.kind}/{out.sequence}", "agency": req.agency,
                "ministry": req.ministry, "department": req.department, "division": req.division or "",
                "request_no": req.request_no, "manual_id": req.manual_id, "kind": out.kind,
                "sequence": out.sequence, "owed_on": out.owed_on.isoformat(), "late_days": out.late_days,
                "sent_at": out.sent_at.astimezone(TIMEZONE).isoformat(timespec="seconds"), "channels": []})
            item["channels"].append(out.channel)
            item["sent_at"] = min(item["sent_at"], out.sent_at.astimezone(TIMEZONE).isoformat(timespec="seconds"))
    return list(notices.values())


def write_opdc_export(store: HubStore, day: dt.date, folder: Path) -> tuple[Path, Path, int]:
    """Write ``notices-YYYY-MM-DD.csv`` and ``.json`` into ``folder``; returns both paths and the count."""
    folder.mkdir(parents=True, exist_ok=True)
    notices = notices_sent_on(store, day)
    csv_path, json_path = folder / f"notices-{day.isoformat()}.csv", folder / f"notices-{day.isoformat()}.json"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel reads the Thai right
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for n in notices:
            writer.writerow({**n, "channels": " ".join(sorted(n["channels"]))})
    json_path.write_text(json.dumps({"day": day.isoformat(), "notices": notices}, ensure_ascii=False, indent=1),
                         encoding="utf-8")
    return csv_path, json_path, len(notices)
