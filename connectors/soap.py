"""SOAP back offices over zeep: a WSDL (file or URL), one operation called page by page with
templated arguments, WS-Security UsernameToken, an incremental cursor on a last-modified field.

XML from the back office is parsed with DTDs, entities and external references forbidden, so a
hostile or broken WSDL or answer (billion laughs, XXE) is refused instead of expanded.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import zeep
import zeep.exceptions as zx
from zeep.helpers import serialize_object
from zeep.wsse.username import UsernameToken

from delayhub.config import project_root
from delayhub.errors import ConfigError, DelayhubError, SourceAuthError, SourceError, SourceUnavailable
from delayhub.normalise import get_path

from .base import Page, Secrets, advance_cursor, field_paths

MAX_PAGES = 100_000  # a paginator that never ends is a bug in the source, not a reason to loop forever
# WS-Security 1.0 fault codes (OASIS, section 12) that mean "your credentials were refused".
AUTH_FAULTS = {"FailedAuthentication", "InvalidSecurityToken", "InvalidSecurity", "SecurityTokenUnavailable",
               "UnsupportedSecurityToken"}
AUTH_WORDS = re.compile(r"authenticat|unauthori[sz]|credential|password|security token|access denied", re.I)
UNAVAILABLE_STATUSES = (429, 500, 502, 503, 504)  # without a SOAP fault: the server, not the request
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


class SoapConnector:
    def __init__(self, source: dict[str, Any], secrets: Secrets, state: Any = None, connector_id: str = "",
                 session: requests.Session | None = None) -> None:
        self.source = source
        self.secrets = secrets
        self.where = f"mappings/{connector_id}.yaml" if connector_id else "mapping"  # names config errors
        self.timeout = float(source.get("timeout_seconds", 30))
        self.session = session or requests.Session()
        self.wsdl = self._wsdl_location(str(source.get("wsdl") or ""))
        self.endpoint = self._join(source["endpoint"], "endpoint") if source.get("endpoint") else None
        self.wsse = self._wsse()
        self._client: zeep.Client | None = None
        self._service: Any = None

    # --- protocol -----------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        try:
            records = self._records(self._call(self._arguments(self._start_cursor(None), self._first_page())))
        except DelayhubError as exc:
            return False, str(exc)
        return True, (f"reached {self._address()} ({self.source['operation']}) and read {len(records)} record(s) "
                      "from the first page")

    def discover(self) -> list[str]:
        body = self._call(self._arguments(self._start_cursor(None), self._first_page()))
        paths: set[str] = set()
        for record in self._records(body)[:20]:
            paths.update(field_paths(record))
        return sorted(paths)

    def read(self, cursor: str | None) -> Iterator[Page]:
        field = (self.source.get("incremental") or {}).get("cursor_field")
        start = self._start_cursor(cursor)
        running = start
        paging = self.source.get("paging") or {"type": "none"}
        page_no = self._first_page()
        for _ in range(MAX_PAGES):
            body = self._call(self._arguments(start, page_no))
            records = self._records(body)
            running = advance_cursor(running, records, field)
            yield Page(records, running)
            if not records:
                return
            kind = paging["type"]
            if kind == "page_number":
                total = get_path(body, paging["total_pages_path"]) if paging.get("total_pages_path") else None
                if total is not None and page_no >= int(total):
                    return
            elif kind == "has_more":
                if not _truthy(get_path(body, paging["has_more_path"])):
                    return
            else:
                return
            page_no += 1
        raise SourceError(f"{self._where()}: more than {MAX_PAGES} pages; the paging does not end")

    # --- configuration ------------------------------------------------------------------------
    def _conn(self) -> str:
        return f"connection {self.source.get('connection_id')!r}"

    def _where(self) -> str:
        return f"{self.source.get('operation')} at {self._address()}"

    def _wsdl_location(self, value: str) -> str:
        """A URL, or an existing file (absolute or relative to the project root), or a URL path
        joined to the connection's host; ``${VAR}`` is expanded first."""
        if not value:
            raise ConfigError(self.where, "source.wsdl", "is missing: give a WSDL file path or URL")
        expanded = os.path.expandvars(value)
        if missing := re.findall(r"\$\{?(\w+)", expanded):
            raise ConfigError(self.where, "source.wsdl", f"uses environment variable {missing[0]} which is not set")
        parts = urlsplit(expanded)
        if parts.scheme in ("http", "https"):
            return expanded
        path = Path(parts.path if parts.scheme == "file" else expanded)
        path = path if path.is_absolute() else project_root() / path
        if path.is_file():
            return str(path)
        if self.secrets.base_url:
            return self._join(expanded, "wsdl")
        raise ConfigError(self.where, "source.wsdl", f"'{value}' is not a file ({path} does not exist), and the "
                          f"{self._conn()} has no host to join it to as a URL path")

    def _join(self, value: str, name: str) -> str:
        if urlsplit(value).scheme:
            return value
        if not self.secrets.base_url:
            raise ConfigError(self._conn(), "host", f"has no host, needed to call {name} '{value}'")
        return urljoin(self.secrets.base_url.rstrip("/") + "/", value.lstrip("/"))

    def _wsse(self) -> UsernameToken | None:
        auth = self.source.get("auth") or {"type": "username_token"}
        if auth["type"] == "none":
            return None
        if not self.secrets.login or not self.secrets.password:
            missing = "login" if not self.secrets.login else "password"
            raise ConfigError(self._conn(), missing, f"has no {missing}: WS-Security UsernameToken needs the "
                              "Connection's login and password")
        return UsernameToken(self.secrets.login, self.secrets.password, use_digest=bool(auth.get("digest", False)))

    def _start_cursor(self, cursor: str | None) -> str | None:
        if cursor is not None:
            return cursor
        initial = (self.source.get("incremental") or {}).get("initial_value")
        return None if initial is None else str(initial)

    def _first_page(self) -> int:
        return int((self.source.get("paging") or {}).get("start", 1))

    def _arguments(self, cursor: str | None, page: int) -> dict[str, Any]:
        """Fill ``{cursor}`` and ``{page}`` in string arguments. A value that is only a placeholder
        keeps its type (the page an int; no cursor yet is None, which zeep leaves out)."""
        out: dict[str, Any] = {}
        for name, value in (self.source.get("arguments") or {}).items():
            if not isinstance(value, str):
                out[name] = value
                continue
            for key in _PLACEHOLDER.findall(value.replace("{{", "").replace("}}", "")):
                if key not in ("cursor", "page"):
                    raise ConfigError(self.where, f"source.arguments.{name}",
                                      f"'{{{key}}}' is not a placeholder (use {{cursor}} or {{page}})")
            if value == "{cursor}":
                out[name] = cursor
            elif value == "{page}":
                out[name] = page
            else:
                out[name] = value.format(cursor=cursor or "", page=page)
        return out

    # --- calls --------------------------------------------------------------------------------
    def _client_service(self) -> Any:
        if self._service is not None:
            return self._service
        transport = zeep.Transport(session=self.session, timeout=self.timeout, operation_timeout=self.timeout)
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        shown = f"WSDL {self.wsdl}"
        with self._errors(shown):
            client = zeep.Client(self.wsdl, transport=transport, settings=settings, wsse=self.wsse)
        if self.endpoint:
            # Agencies hand out WSDL files whose soap:address names their production host.
            binding = _first_port(client, shown).binding.name
            service = client.create_service(binding, self.endpoint)
        else:
            service = client.service
        operation = self.source.get("operation") or ""
        try:
            service[operation]
        except AttributeError:
            available = sorted(client.service._binding.all()) if hasattr(client.service, "_binding") else []
            raise ConfigError(self.where, "source.operation", f"'{operation}' is not an operation of {shown} "
                              f"(available: {', '.join(available)})") from None
        self._client, self._service = client, service
        return service

    def _address(self) -> str:
        if self.endpoint:
            return self.endpoint
        if self._client is not None:
            return str(_first_port(self._client, self.wsdl).binding_options.get("address", self.wsdl))
        return self.wsdl

    def _call(self, arguments: dict[str, Any]) -> Any:
        service = self._client_service()
        with self._errors(self._where()):
            try:
                result = service[self.source["operation"]](**arguments)
            except TypeError as exc:  # zeep's word for an argument the operation does not have
                raise ConfigError(self.where, "source.arguments",
                                  f"do not fit {self.source['operation']}: {exc}") from None
        return _plain(serialize_object(result, target_cls=dict))

    def _errors(self, where: str) -> _ErrorMap:
        return _ErrorMap(where, self._conn())

    def _records(self, body: Any) -> list[dict[str, Any]]:
        path = self.source.get("records_path")
        records = get_path(body, path) if path else body
        if records is None:
            return []
        if isinstance(records, dict):
            # A wrapped array (ArrayOfX): name the list inside rather than read the wrapper as one record.
            inner = [k for k, v in records.items() if isinstance(v, list)]
            hint = f" (did you mean '{path}.{inner[0]}'?)" if len(inner) == 1 else ""
            raise SourceError(f"{self._where()}: '{path}' is an object, not a list of records{hint}")
        if not isinstance(records, list):
            raise SourceError(f"{self._where()}: '{path}' is not a list of records")
        return records


class _ErrorMap:
    """Turn zeep and requests errors into delayhub's, without echoing the answer's content
    (it may carry applicants' personal data)."""

    def __init__(self, where: str, conn: str) -> None:
        self.where, self.conn = where, conn

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or isinstance(exc, DelayhubError):
            return False
        where = self.where
        if isinstance(exc, zx.Fault):
            code = str(exc.code or "")
            text = str(exc.message or "")[:200]
            if code.rsplit(":", 1)[-1].rsplit("}", 1)[-1] in AUTH_FAULTS or AUTH_WORDS.search(text):
                raise SourceAuthError(f"{where}: the back office refused our WS-Security credentials "
                                      f"(SOAP fault {code}: {text}); check the Airflow {self.conn}") from exc
            raise SourceError(f"{where}: SOAP fault {code}: {text}") from exc
        if isinstance(exc, zx.DTDForbidden | zx.EntitiesForbidden | zx.ExternalReferenceForbidden):
            what = {zx.DTDForbidden: "a DTD (<!DOCTYPE>)", zx.EntitiesForbidden: "an entity declaration (<!ENTITY>)",
                    zx.ExternalReferenceForbidden: "a reference to an external document"}[type(exc)]
            raise SourceError(f"{where}: refused the XML because it contains {what}; DTDs and entities are "
                              "forbidden to block XML attacks (entity expansion, XXE)") from exc
        if isinstance(exc, requests.Timeout):
            raise SourceUnavailable(f"{where}: timed out ({type(exc).__name__})") from exc
        if isinstance(exc, requests.ConnectionError):
            raise SourceUnavailable(f"{where}: cannot connect ({type(exc).__name__})") from exc
        if isinstance(exc, requests.HTTPError | zx.TransportError):
            status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", 0)
            if status in (401, 403):
                raise SourceAuthError(f"{where}: the back office refused our credentials (HTTP {status}); "
                                      f"check the Airflow {self.conn}") from exc
            if status in UNAVAILABLE_STATUSES:
                raise SourceUnavailable(f"{where}: HTTP {status}") from exc
            if "invalid XML" in str(exc):
                raise SourceError(f"{where}: the answer (HTTP {status}) is not valid XML") from exc
            raise SourceError(f"{where}: HTTP {status}") from exc
        if isinstance(exc, zx.XMLSyntaxError | zx.XMLParseError | zx.WsdlSyntaxError):
            raise SourceError(f"{where}: not valid XML or WSDL ({type(exc).__name__})") from exc
        if isinstance(exc, OSError):  # a WSDL file that cannot be read
            raise SourceError(f"{where}: cannot read ({exc.strerror or type(exc).__name__})") from exc
        if isinstance(exc, zx.Error):
            raise SourceError(f"{where}: {type(exc).__name__}: {str(exc)[:200]}") from exc
        return False


def _first_port(client: zeep.Client, shown: str) -> Any:
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            return port
    raise SourceError(f"{shown}: defines no service port")


def _plain(value: Any) -> Any:
    """Serialized zeep values as JSON-ready ones (xsd:dateTime, xsd:decimal, base64 come as
    Python objects), so records store and checksum the same way as any other source's."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)
