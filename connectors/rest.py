"""REST back offices over requests: API key, basic auth or OAuth2 client credentials;
page-number, next-link or cursor-token pages; an incremental cursor on the records'
last-updated field; retries with backoff on 429/5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from delayhub.errors import ConfigError, SourceAuthError, SourceError, SourceUnavailable
from delayhub.normalise import get_path

from .base import Page, Secrets, advance_cursor, field_paths

RETRY_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGES = 100_000  # a paginator that never ends is a bug in the source, not a reason to loop forever


class RestConnector:
    def __init__(self, source: dict[str, Any], secrets: Secrets, session: requests.Session | None = None,
                 state: Any = None, connector_id: str = "") -> None:
        if not secrets.base_url:
            raise ConfigError(f"connection {source.get('connection_id')!r}", "host",
                              "has no host: set the back office's address in the Airflow Connection")
        self.source = source
        self.base_url = secrets.base_url.rstrip("/") + "/"
        self.timeout = float(source.get("timeout_seconds", 30))
        self.session = session or requests.Session()
        retries = Retry(total=int(source.get("max_retries", 5)), backoff_factor=float(source.get("backoff", 0.5)),
                        status_forcelist=RETRY_STATUSES, allowed_methods=("GET",),
                        respect_retry_after_header=True, raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retries))
        self.session.mount("https://", HTTPAdapter(max_retries=retries))
        auth = source.get("auth", {"type": "none"})
        if auth["type"] == "api_key":
            if not secrets.password:
                raise ConfigError(f"connection {source.get('connection_id')!r}", "password",
                                  "holds no API key (put the key in the Connection's password)")
            self.session.headers[auth.get("header", "X-API-Key")] = secrets.password
        elif auth["type"] == "basic":
            self.session.auth = (secrets.login or "", secrets.password or "")
        elif auth["type"] == "oauth2_client_credentials":
            if not (secrets.login and secrets.password):
                raise ConfigError(f"connection {source.get('connection_id')!r}", "login/password",
                                  "needs the OAuth2 client id (login) and client secret (password)")
            self.session.auth = ClientCredentials(urljoin(self.base_url, auth["token_url"]), secrets.login,
                                                  secrets.password, auth.get("scope"), self.timeout)
        self.session.headers.setdefault("Accept", "application/json")

    # --- protocol -----------------------------------------------------------------------------
    def check(self) -> tuple[bool, str]:
        try:
            body = self._get(self._url(), self._params(None))
        except SourceError as exc:
            return False, str(exc)
        return True, f"reached {self._url()} and read {len(self._records(body))} record(s) from the first page"

    def discover(self) -> list[str]:
        body = self._get(self._url(), self._params(None))
        paths: set[str] = set()
        for record in self._records(body)[:20]:
            paths.update(field_paths(record))
        return sorted(paths)

    def read(self, cursor: str | None) -> Iterator[Page]:
        incremental = self.source.get("incremental") or {}
        field = incremental.get("cursor_field")
        start = cursor if cursor is not None else incremental.get("initial_value")
        running = start
        url: str | None = self._url()
        first_params = self._params(start)
        params: dict[str, Any] | None = first_params
        paginator = self.source.get("paginator", {"type": "none"})
        page_no = int(paginator.get("start_page", 1))
        for _ in range(MAX_PAGES):
            body = self._get(url, params)
            records = self._records(body)
            running = advance_cursor(running, records, field)
            yield Page(records, running)
            if not records:
                return
            kind = paginator["type"]
            if kind == "page_number":
                total = get_path(body, paginator["total_pages_path"]) if paginator.get("total_pages_path") else None
                if total is not None and page_no >= int(total):
                    return
                page_no += 1
                params = {**first_params, paginator.get("page_param", "page"): page_no}
            elif kind == "next_link":
                nxt = get_path(body, paginator["next_path"])
                if not nxt:
                    return
                url, params = urljoin(self.base_url, str(nxt)), None
            elif kind == "cursor":
                token = get_path(body, paginator["cursor_path"])
                if not token:
                    return
                params = {**first_params, paginator.get("cursor_param", "cursor"): token}
            else:
                return
        raise SourceError(f"{self._url()}: more than {MAX_PAGES} pages; the paginator does not end")

    # --- helpers ------------------------------------------------------------------------------
    def _url(self) -> str:
        return urljoin(self.base_url, self.source["path"].lstrip("/"))

    def _params(self, cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = dict(self.source.get("params") or {})
        paginator = self.source.get("paginator", {"type": "none"})
        if paginator["type"] == "page_number":
            params[paginator.get("page_param", "page")] = int(paginator.get("start_page", 1))
            if paginator.get("size_param") and paginator.get("page_size"):
                params[paginator["size_param"]] = paginator["page_size"]
        incremental = self.source.get("incremental") or {}
        if cursor and incremental.get("request_param"):
            params[incremental["request_param"]] = cursor
        return params

    def _get(self, url: str | None, params: dict[str, Any] | None) -> Any:
        assert url is not None
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SourceUnavailable(f"{url}: cannot connect ({_root_cause(exc)})") from exc
        if response.status_code in (401, 403):
            raise SourceAuthError(f"{url}: the back office refused our credentials (HTTP {response.status_code}); "
                                  f"check the Airflow Connection {self.source.get('connection_id')!r}")
        if response.status_code in RETRY_STATUSES:
            raise SourceUnavailable(f"{url}: still HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise SourceError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError(f"{url}: the answer is not JSON ({response.text[:80]!r})") from exc

    def _records(self, body: Any) -> list[dict[str, Any]]:
        path = self.source.get("records_path")
        records = get_path(body, path) if path else body
        if records is None:
            return []
        if not isinstance(records, list):
            raise SourceError(f"{self._url()}: '{path}' is not a list of records")
        return records


class ClientCredentials(requests.auth.AuthBase):
    """OAuth2 client-credentials: fetch a bearer token, reuse it until shortly before it
    expires, and fetch a new one once when the API answers 401."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, scope: str | None,
                 timeout: float) -> None:
        self.token_url, self.client_id, self.client_secret = token_url, client_id, client_secret
        self.scope, self.timeout = scope, timeout
        self._token: str | None = None
        self._expires = 0.0

    def _fetch(self) -> str:
        data = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        try:
            r = requests.post(self.token_url, data=data, auth=(self.client_id, self.client_secret),
                              timeout=self.timeout)
        except requests.RequestException as exc:
            raise SourceUnavailable(f"{self.token_url}: cannot reach the token endpoint "
                                    f"({type(exc).__name__})") from exc
        if r.status_code in (400, 401, 403):
            raise SourceAuthError(f"{self.token_url}: the token endpoint refused our client credentials "
                                  f"(HTTP {r.status_code})")
        if r.status_code >= 300:
            raise SourceUnavailable(f"{self.token_url}: token endpoint answered HTTP {r.status_code}")
        body = r.json()
        self._token = body["access_token"]
        self._expires = time.monotonic() + float(body.get("expires_in", 300)) - 30
        return self._token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self._token if self._token and time.monotonic() < self._expires else self._fetch()
        request.headers["Authorization"] = f"Bearer {token}"
        request.register_hook("response", self._retry_on_401)
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_token_retried", False):
            return response
        retry = response.request.copy()
        retry.headers["Authorization"] = f"Bearer {self._fetch()}"
        retry._token_retried = True  # type: ignore[attr-defined]
        response.content  # noqa: B018 - release the connection before resending
        return response.connection.send(retry, **kwargs)


def _root_cause(exc: BaseException) -> str:
    """The failure under requests' and urllib3's wrappers, in one line: 'NameResolutionError: …'."""
    cause: BaseException = exc
    while True:
        inner = getattr(cause.args[0], "reason", None) if cause.args else None
        inner = inner if isinstance(inner, BaseException) else cause.__cause__ or cause.__context__
        if inner is None or inner is cause:
            break
        cause = inner
    text = str(cause).split(": ", 1)[-1] if ": " in str(cause) else str(cause)
    return f"{type(cause).__name__}: {text[:160]}"
