"""Rendering pages: the language, links that work under any prefix, and what every template gets.

Links are the app's own route paths behind ``root_path``: the same templates work served alone
(``delayhub serve``), mounted at ``/delayhub`` in Airflow's API server, or behind a proxy that
sets a root path. No template writes an absolute path.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from . import i18n
from .csrf import csrf_field

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.auto_reload = False  # templates ship with the package: no stat() per page to see if one changed
LANG_COOKIE = "lang"
LANG_MAX_AGE = 365 * 24 * 3600


def lang_of(request: Request) -> str:
    """``?lang=`` first (the switch), then the ``lang`` cookie, then Thai."""
    return (i18n.pick(request.query_params.get("lang")) or i18n.pick(request.cookies.get(LANG_COOKIE))
            or i18n.DEFAULT)


def url(request: Request, name: str, /, query: dict[str, Any] | None = None, **path_params: Any) -> str:
    """The path of one of this app's routes as the browser must ask for it (prefix included)."""
    path = request.scope.get("root_path", "") + _route(request.app, name).url_path_for(name, **path_params)
    clean = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    return f"{path}?{urlencode(clean)}" if clean else path


def _route(app: Any, name: str) -> Any:
    """The route called ``name``: the router tries every route in turn for each link (4 % of a list
    page's time), so the named ones are indexed once per app."""
    index = getattr(app.state, "route_index", None)
    if index is None:
        index = {}
        for r in app.router.routes:  # the first of a name wins, as in the router
            if getattr(r, "name", None):
                index.setdefault(r.name, r)
        app.state.route_index = index
    return index.get(name, app.router)


def app_path(request: Request) -> str:
    """This request's path inside the app (without the prefix), with its query."""
    root, path = request.scope.get("root_path", ""), request.scope["path"]
    if root and path.startswith(root + "/"):  # ASGI: the path includes the root path
        path = path[len(root):]
    return path + (f"?{request.url.query}" if request.url.query else "")


def switch_href(request: Request, lang: str) -> str:
    """The same page in the other language: only the query changes, so a relative link will do."""
    params = dict(request.query_params)
    params["lang"] = i18n.MESSAGES[lang]["switch_lang"]
    return "?" + urlencode(params)


def remember_lang(request: Request, response: Any) -> None:
    """Keep a language chosen with ``?lang=`` for the next pages."""
    chosen = i18n.pick(request.query_params.get("lang"))
    if chosen and chosen != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_MAX_AGE, path="/", samesite="lax", httponly=True)


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    t = i18n.translator(lang)
    ctx: dict[str, Any] = {
        "lang": lang,
        "t": t,
        "url": partial(url, request),
        "csrf_field": partial(csrf_field, request),
        "switch_href": switch_href(request, lang),
        "format_date": partial(i18n.format_date, lang=lang),
        "number": i18n.number,
        "user": getattr(request.state, "user", None),
        "errors": [],
    }
    ctx.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code)
    remember_lang(request, response)
    return response
