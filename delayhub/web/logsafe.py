"""Keep secrets out of the process's logs: links that carry a second factor, and the sign-in's codes.

**Access logs.** A letter's QR code opens ``/track?no=…&code=…``: the request number and its second
factor. The OpenID Connect callback carries the authorization code, the queue's and tracking
page's links a signed token in the path (``/queue/b/<token>``, ``/track/view/<token>`` …). An
access log line keeps the method, the path and the parameters' names for operators, with every
query value and every such token replaced by ``***``:

    GET /track?no=***&code=*** HTTP/1.1" 200

* uvicorn (``delayhub serve``, ``uvicorn --factory …``) logs through the ``uvicorn.access`` logger:
  ``install()`` adds ``AccessLogRedaction`` to it (``create_app`` calls it).
* Airflow's API server turns uvicorn's access log off and logs each request itself from the ASGI
  scope, after the app answered (structlog, not the logging module: no filter reaches it). The
  plugin wraps the app in ``ScrubScopeForAccessLog``, which rewrites the scope's path and query
  string once the response has started: by then the app has read them, and the server's log line
  written afterwards shows the redacted ones.

**authlib** logs the PKCE code verifier at DEBUG (``Using code_verifier: …``) and, on its server
side, issued tokens. ``install()`` keeps authlib's loggers at INFO and adds a filter to each that
drops its DEBUG records, so turning DEBUG on for the whole process (or for ``authlib`` by name)
never prints them. authlib logs nothing secret at INFO or above.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MASK = "***"
# Path segments that are bearer tokens: the next segment after these (under any mount prefix).
_TOKEN_PATH = re.compile(r"(/track/(?:view|letters)/|/queue/b/|/queue/ticket/|/queue/kiosk/[^/?]+/ticket/|/survey/)"
                         r"[^/?]+")


def redact_path(path: str) -> str:
    return _TOKEN_PATH.sub(lambda m: m.group(1) + MASK, path)


def redact_query(query: str) -> str:
    """``no=ทบ.1&code=AB12`` → ``no=***&code=***``: the names stay, no value does."""
    parts = [p.split("=", 1)[0] + "=" + MASK if "=" in p else p for p in query.split("&") if p]
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request target (path, ``?``, query) as an access log may show it."""
    path, sep, query = target.partition("?")
    return redact_path(path) + (sep + redact_query(query) if sep else "")


class AccessLogRedaction(logging.Filter):
    """On ``uvicorn.access``: its records' arguments are (client, method, target, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


class _NoAuthlibDebug(logging.Filter):
    """authlib's DEBUG records are where its secrets are (the PKCE verifier, tokens): never let one out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def install() -> None:
    """Add the filters above (once per process; creating the app again adds nothing)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())
    authlib = logging.getLogger("authlib")
    if authlib.level == logging.NOTSET or authlib.level < logging.INFO:
        authlib.setLevel(logging.INFO)  # new authlib loggers inherit it
    # A logger's filters see only the records logged on it, not its children's: each authlib module's
    # logger gets its own (those imported later are server-side modules, still kept at INFO above).
    names = ["authlib", *(n for n in logging.root.manager.loggerDict if n.startswith("authlib."))]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoAuthlibDebug) for f in logger.filters):
            logger.addFilter(_NoAuthlibDebug())


class ScrubScopeForAccessLog:
    """For servers that log a request from its ASGI scope once it is answered (Airflow's API server):
    the scope's query string and token path segments are redacted when the response starts."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def scrub_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                _scrub(scope)
            await send(message)

        try:
            await self.app(scope, receive, scrub_then_send)
        finally:
            _scrub(scope)  # an error page the server made itself: its log line is redacted too


def _scrub(scope: dict[str, Any]) -> None:
    query = scope.get("query_string") or b""
    if query:
        scope["query_string"] = redact_query(query.decode("latin-1")).encode("latin-1")
    for key in ("path", "raw_path"):
        value = scope.get(key)
        if isinstance(value, str):
            scope[key] = redact_path(value)
        elif isinstance(value, bytes):
            scope[key] = redact_path(value.decode("latin-1")).encode("latin-1")
