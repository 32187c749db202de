"""A report's tables as a download: CSV (the report's main table) or Excel (every table, a sheet each),
named after the report, its scope and its period; and the sheet of filters every download ends with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from .. import config
from ..reports.tables import Table, csv_bytes, xlsx_bytes
from . import i18n
from .templating import remember_lang

MEDIA_TYPES: dict[str, str] = {"csv": "text/csv; charset=utf-8",
                               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def refused(errors: list[tuple[str, str]]) -> Response:
    """A download asked for with filters the page would refuse: the reasons as plain text."""
    return PlainTextResponse("\n".join(message for _, message in errors), status_code=400)


def tables_download(request: Request, tables: Sequence[Table], *, stem: str, scope: str | None, start: dt.date,
                    end: dt.date) -> Response:
    """``tables`` as ``stem[-scope]-start-end.csv`` (the first table) or ``.xlsx`` (each on a sheet): one route
    function serves a report's two paths, and the extension of the path asked for says which."""
    ext = "csv" if request.url.path.endswith(".csv") else "xlsx"
    body = csv_bytes(tables[0]) if ext == "csv" else xlsx_bytes(tables)
    name = f"{stem}{f'-{scope}' if scope else ''}-{start.isoformat()}-{end.isoformat()}.{ext}"
    response = Response(body, media_type=MEDIA_TYPES[ext],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    remember_lang(request, response)
    return response


def filters_table(t: Callable[..., str], lang: str, title: str, asked: list[list[Any]], start: dt.date,
                  end: dt.date, after: Sequence[list[Any]] = ()) -> Table:
    """The filters sheet: what was ``asked`` for, the period, ``after`` it, and when the file was made."""
    return Table(title, [t("item"), t("value")], [
        *asked, [t("start"), i18n.format_date(start, lang)], [t("end"), i18n.format_date(end, lang)], *after,
        [t("generated_at"), config.now().astimezone(config.TIMEZONE).strftime("%Y-%m-%d %H:%M")]])
