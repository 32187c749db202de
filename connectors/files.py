"""File drops: an agency's system exports CSV or XLSX files into a shared folder.

Each file is read whole, every cell as text (leading zeros of IDs and phone numbers survive).
Its content is read once per connector: the SHA-256 of its bytes goes into the hub store's file
ledger, so the same export dropped again under another name is not read twice. A file moves
to the archive folder only after its rows are stored (``Page.ack``); a file that cannot be read
at all — not a workbook, not decodable, missing required columns — is quarantined whole with
its reason and moved to the quarantine folder. One bad file never stops the others.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from delayhub import config
from delayhub.errors import ConfigError, SourceError

from .base import ConnectorState, Page, Reject, Secrets

log = logging.getLogger(__name__)

DEFAULT_PATTERNS = ("*.csv", "*.xlsx")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp874")
PAGE_ROWS = 1000  # a big export is stored in several transactions; the file moves after the last one
_BAD_LINE = "\x00delayhub-bad-line:"  # stands in for a CSV line with too many values, keeping row numbers
MAX_REF = 120  # quarantine.source_record_id and requests.source_record_id are 120 characters
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class _Unreadable(Exception):
    """The whole file cannot be read; the message is the quarantine reason (no cell values)."""


class FileDropConnector:
    def __init__(self, source: dict[str, Any], secrets: Secrets, state: ConnectorState | None = None,
                 connector_id: str = "") -> None:
        where = f"file drop {connector_id!r}" if connector_id else "file drop"
        if state is None:
            raise ConfigError(where, "state", "needs the hub store to remember which files it has read")
        if not source.get("folder"):
            raise ConfigError(where, "source.folder", "is required: the folder the agency's files arrive in")
        self.source, self.state, self.connector_id = source, state, connector_id
        self.folder = _resolve(source["folder"], where, "source.folder")
        self.archive = (_resolve(source["archive_folder"], where, "source.archive_folder")
                        if source.get("archive_folder") else self.folder / "archive")
        self.quarantine = (_resolve(source["quarantine_folder"], where, "source.quarantine_folder")
                           if source.get("quarantine_folder") else self.folder / "quarantine")
        self.patterns = [p.lower() for p in source.get("patterns") or DEFAULT_PATTERNS]
        self.encoding = source.get("encoding", "auto")
        if self.encoding not in ENCODINGS:
            raise ConfigError(where, "source.encoding", f"'{self.encoding}' is not one of {', '.join(ENCODINGS)}")
        self.delimiter = source.get("delimiter", ",")
        self.sheet: str | int = source.get("sheet", 0)
        self.required = list(source.get("required_columns") or [])
        self.id_column: str | None = source.get("id_column")
        self.min_age = float(source.get("min_age_seconds", 5))

    # --- protocol -----------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        if not self.folder.is_dir():
            return False, f"{self.folder}: the drop folder does not exist (or is not a folder)"
        if not os.access(self.folder, os.R_OK | os.X_OK):
            return False, f"{self.folder}: the drop folder is not readable by this user"
        for kind, target in (("archive", self.archive), ("quarantine", self.quarantine)):
            existing = next(p for p in (target, *target.parents) if p.exists())
            if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
                return False, f"{target}: cannot write the {kind} folder here (files could not be moved away)"
        files = self._files(ready_only=False)
        ready = self._files()
        waiting = f"{len(ready)} file(s) ready to read"
        if len(files) > len(ready):
            waiting += f", {len(files) - len(ready)} still being written (newer than {self.min_age:g} s)"
        return True, f"{self.folder}: readable, archive and quarantine writable; {waiting}"

    def discover(self) -> list[str]:
        """Column headers of the first readable file (no rows are read or moved)."""
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: the drop folder does not exist")
        for path in self._files(ready_only=False):
            try:
                headers, _, _ = self._parse(path.name, path.read_bytes(), header_only=True)
            except (_Unreadable, OSError):
                continue
            return [*headers, "_file", "_row", "_id"]
        return []

    def read(self, cursor: str | None) -> Iterator[Page]:
        """One file after another in name order; the cursor is unused (the ledger remembers files)."""
        if not self.folder.is_dir():
            raise SourceError(f"{self.folder}: the drop folder does not exist; check the mapping's source.folder")
        try:
            files = self._files()
        except OSError as exc:
            raise SourceError(f"{self.folder}: cannot list the drop folder ({exc.strerror or type(exc).__name__})"
                              ) from exc
        seen: set[str] = set()
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:  # vanished or locked by the exporter: try again next run
                log.warning("file drop %s: cannot read %s now (%s); left for the next run",
                            self.connector_id, path.name, type(exc).__name__)
                continue
            sha = hashlib.sha256(data).hexdigest()
            if self.state.ledger_has(self.connector_id, sha):
                log.info("file drop %s: %s was already read under another name or run; archived unread",
                         self.connector_id, path.name)
                try:
                    _move(path, self.archive)
                except SourceError as exc:  # it is known already: leaving it in the drop harms nothing
                    log.warning("file drop %s: %s", self.connector_id, exc)
                continue
            if sha in seen:
                continue  # a copy of a file this run read but has not yet stored: the ledger archives it next run
            seen.add(sha)
            try:
                _, records, bad_rows = self._parse(path.name, data)
            except _Unreadable as exc:
                reject = Reject(source_id=_ref(path.name), field="file", reason=str(exc),
                                raw={"file": path.name, "sha256": sha, "size": len(data)})
                yield Page([], None, rejects=[reject],
                           ack=self._ack(path, sha, 0, "quarantined", self.quarantine))
                continue
            log.info("file drop %s: %s has %d row(s) and %d unreadable line(s)", self.connector_id, path.name,
                     len(records), len(bad_rows))
            chunks = [records[i:i + PAGE_ROWS] for i in range(0, len(records), PAGE_ROWS)] or [[]]
            for n, chunk in enumerate(chunks):
                last = n == len(chunks) - 1
                yield Page(chunk, None, rejects=bad_rows if n == 0 else [],
                           ack=self._ack(path, sha, len(records), "processed", self.archive) if last else None)

    # --- helpers ------------------------------------------------------------------------------
    def _files(self, ready_only: bool = True) -> list[Path]:
        newest = time.time() - self.min_age
        out = []
        for path in sorted(self.folder.iterdir(), key=lambda p: p.name):
            name = path.name
            if name.startswith(("~$", ".")) or not path.is_file():
                continue  # Excel lock files and hidden temporaries are never exports
            if not any(fnmatch.fnmatchcase(name.lower(), p) for p in self.patterns):
                continue
            try:
                if ready_only and path.stat().st_mtime > newest:
                    continue
            except FileNotFoundError:  # moved away between listing and looking
                continue
            out.append(path)
        return out

    def _ack(self, path: Path, sha: str, rows: int, status: str, target: Path) -> Callable[[], None]:
        def ack() -> None:
            # Ledger first: if the move then fails, the next run finds the content known and archives it.
            self.state.ledger_add(self.connector_id, sha, path.name, rows, status)
            _move(path, target)

        return ack

    def _parse(self, name: str, data: bytes, header_only: bool = False
               ) -> tuple[list[str], list[dict[str, Any]], list[Reject]]:
        """(headers, records, rejected lines); raises _Unreadable when the file as a whole is not usable."""
        bad_lines: list[list[str]] = []
        if not data.strip():
            raise _Unreadable(f"{name}: the file is empty")
        if name.lower().endswith(".xls"):
            raise _Unreadable(f"{name}: the old .xls format is not read; export as .xlsx or CSV")
        if name.lower().endswith(WORKBOOK_SUFFIXES):
            try:
                frame = pd.read_excel(io.BytesIO(data), sheet_name=self.sheet, dtype=str, keep_default_na=False,
                                      engine="openpyxl", nrows=0 if header_only else None)
            except Exception as exc:  # openpyxl/zipfile raise many kinds; each means the same to the operator
                raise _Unreadable(f"{name}: not a readable XLSX workbook ({_short(exc)})") from None
        else:
            text = self._decode(name, data)

            def bad_line(values: list[str]) -> list[str]:
                bad_lines.append(values)
                return [f"{_BAD_LINE}{len(bad_lines) - 1}"]

            try:
                frame = pd.read_csv(io.StringIO(text), sep=self.delimiter, dtype=str, keep_default_na=False,
                                    skip_blank_lines=False, engine="python", index_col=False,
                                    on_bad_lines=bad_line, nrows=0 if header_only else None)
            except Exception as exc:  # pandas' parser errors name lines and counts, never cell values
                raise _Unreadable(f"{name}: not a readable CSV ({_short(exc)})") from None
        frame.columns = [str(c).lstrip("\ufeff").strip() for c in frame.columns]
        missing = [c for c in self.required if c not in frame.columns]
        if missing:
            # The headers found are not shown: a file without a header row would show a person's data.
            raise _Unreadable(f"{name}: missing columns: {', '.join(missing)} "
                              f"(its first row has {len(frame.columns)} column(s); is it this agency's export?)")
        # Blank header cells past the data (a stray formatted column in Excel) carry nothing.
        frame = frame[[c for c in frame.columns if not (c.startswith("Unnamed:") and _all_blank(frame[c]))]]
        headers = list(frame.columns)
        records: list[dict[str, Any]] = []
        rejects: list[Reject] = []
        first = headers[0] if headers else None
        for index, values in enumerate(frame.itertuples(index=False, name=None)):
            row = index + 2  # as the agency sees it in a spreadsheet: the header is row 1
            cells = {h: _cell(v) for h, v in zip(headers, values, strict=True)}
            marker = cells.get(first) if first else None
            if isinstance(marker, str) and marker.startswith(_BAD_LINE):
                extra = bad_lines[int(marker.removeprefix(_BAD_LINE))]
                rejects.append(Reject(
                    source_id=_ref(name, row), field="row",
                    reason=f"{name}: row {row} has {len(extra)} values but the header has {len(headers)} columns "
                           f"(an unquoted '{self.delimiter}' inside a value?)",
                    raw={"file": name, "row": row, "values": extra}))
                continue
            if all(v is None for v in cells.values()):
                continue  # blank rows are common at the end of exports
            own_id = cells.get(self.id_column) if self.id_column else None
            records.append({**cells, "_file": name, "_row": row,
                            "_id": own_id.strip() if own_id and own_id.strip() else _ref(name, row)})
        return headers, records, rejects

    def _decode(self, name: str, data: bytes) -> str:
        tried = ("utf-8-sig", "cp874") if self.encoding == "auto" else (self.encoding,)
        failures = []
        for encoding in tried:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                failures.append(f"{encoding} fails at byte {exc.start}")
        raise _Unreadable(f"{name}: cannot decode as {' or '.join(tried)} ({', '.join(failures)})")


def _resolve(value: str, where: str, path: str) -> Path:
    """A configured folder: variables expanded, relative to the project root."""
    known = {"DELAYHUB_VAR": str(config.var_dir()), "DELAYHUB_ROOT": str(config.project_root()), **os.environ}

    def expand(m: re.Match[str]) -> str:
        var = m.group(1) or m.group(2)
        if var not in known:
            raise ConfigError(where, path, f"uses ${{{var}}}, which is not set in the environment")
        return known[var]

    folder = Path(_VAR.sub(expand, value)).expanduser()
    return folder if folder.is_absolute() else config.project_root() / folder


def _move(path: Path, folder: Path) -> None:
    """Move keeping the name; a name already there gets -2, -3 … so no earlier file is overwritten."""
    target, n = folder / path.name, 1
    try:
        folder.mkdir(parents=True, exist_ok=True)
        while target.exists():
            n += 1
            target = folder / f"{path.stem}-{n}{path.suffix}"
        shutil.move(str(path), str(target))
    except FileNotFoundError:  # someone moved it meanwhile; the ledger already remembers its content
        log.warning("file drop: %s was gone before it could be moved to %s", path.name, folder)
    except OSError as exc:
        raise SourceError(f"cannot move {path.name} to {folder} ({exc.strerror or type(exc).__name__}); "
                          "its content is recorded as read, so it will not be read twice") from exc


def _ref(name: str, row: int | None = None) -> str:
    """``file:row n`` for quarantine and record ids; a long file name is cut to fit the store's 120 characters."""
    suffix = f":row {row}" if row is not None else ""
    return name[:MAX_REF - len(suffix)] + suffix


def _cell(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _all_blank(column: pd.Series) -> bool:
    return all(_cell(v) is None or not str(v).strip() for v in column)


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
