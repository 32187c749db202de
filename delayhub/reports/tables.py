"""A report's tables as files people open in Excel: CSV (UTF-8 with BOM) and .xlsx (openpyxl).

Text that a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``, ``@…``; a request
number comes from an agency's system and could be anything) is written as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    title: str  # the sheet's name in Excel (at most 31 characters)
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_bytes(table: Table) -> bytes:
    """One table as CSV; the BOM makes Excel read the Thai as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.header)
    writer.writerows([_csv_cell(v) for v in row] for row in table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """Each table on its own sheet: a bold header row, frozen, and columns wide enough to read."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31])
        sheet.append(list(table.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for values in table.rows:
            sheet.append([None if v is None else v for v in values])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # openpyxl takes "=…" for a formula otherwise
        sheet.freeze_panes = "A2"
        for i, column in enumerate(sheet.iter_cols(values_only=True), start=1):
            width = max((len(str(v)) for v in column if v is not None), default=8)
            sheet.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
