"""The survey page, public (no sign-in): ``/survey/<token>`` from an SMS, an email, the walk-in ticket's QR
code or the result letter's. One page, Thai first (the invitation's language when the person chose none),
made for a phone and a screen reader: each question a fieldset whose legend is the question.

The token is the only key, and it is single-use (``delayhub.survey.answer``): a form sent twice, or from two
tabs, stores one answer and the other sees "already answered". Every GET and POST counts against the
client's limits (the tracking page's limiter, its own limit names): a burst gets 429 with a Thai page and
Retry-After.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ..config import TIMEZONE
from ..errors import ConfigError
from ..queueing.settings import load_all
from ..survey import Invalid, Survey
from ..survey.answer import ANSWERED, EXPIRED, NOT_YET, OPEN, STORED, UNKNOWN, Found, field_name
from ..survey.questions import Question, StoredSet
from ..tracking import Limit, Limiter, limiter_for
from .csrf import verify_csrf
from .deps import client_address, get_registry, get_store, made_once
from .i18n import translator
from .templating import LANG_COOKIE, lang_of, render, url

router = APIRouter()
Csrf = Depends(verify_csrf)
# One person opens the page, perhaps reloads it, and sends it: a handful. A hall's shared Wi-Fi answers
# through one address, hence room for many people a day.
LIMITS = (Limit("survey-client", 20, 60), Limit("survey-client-day", 600, 24 * 3600))
_STATUS = {UNKNOWN: 404, EXPIRED: 410, ANSWERED: 200, NOT_YET: 200}


class _State:
    def __init__(self, request: Request) -> None:
        store, registry = get_store(request), get_registry(request)
        self.survey = Survey(store, registry)
        self.limiter: Limiter = limiter_for(store)
        self.registry = registry
        self._queues: dict[str, Any] | None = None

    def queue_settings(self) -> dict[str, Any]:
        if self._queues is None:
            try:
                self._queues = load_all(self.registry)
            except ConfigError:  # only the service's label is at stake: its code is shown instead
                self._queues = {}
        return self._queues


def _state(request: Request) -> _State:
    return made_once(request.app.state, "survey", lambda: _State(request))


def _limited(request: Request, state: _State) -> Response | None:
    verdict = state.limiter.hit([(limit, client_address(request)) for limit in LIMITS])
    if verdict.allowed:
        return None
    response = _message(request, "limited", 429, minutes=max(1, math.ceil(verdict.retry_after / 60)))
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def _message(request: Request, kind: str, status: int, **fields: Any) -> Response:
    return render(request, "survey_message.html", {"kind": kind, "fields": fields}, status_code=status)


@router.get("/survey/{token}", name="survey")
def survey_page(request: Request, token: str, done: str = "") -> Response:
    state = _state(request)
    if (refused := _limited(request, state)) is not None:
        return refused
    found = state.survey.resolve(token)
    if found.state == ANSWERED and done:
        return _message(request, "thanks", 200)
    if found.state != OPEN:
        return _message(request, found.state, _STATUS[found.state])
    assert found.invitation is not None
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if not chosen and found.invitation.language != "th":  # the language the invitation was sent in
        return RedirectResponse(url(request, "survey", token=token, query={"lang": found.invitation.language}),
                                status_code=303)
    return _form(request, state, token, found)


@router.post("/survey/{token}", name="survey_submit", dependencies=[Csrf])
async def survey_submit(request: Request, token: str) -> Response:
    state = _state(request)
    if (refused := await run_in_threadpool(_limited, request, state)) is not None:
        return refused
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    pinned = {name: int(form[name]) if form.get(name, "").isdigit() and len(form[name]) <= 9 else None
              for name in ("standard_set", "agency_set")}
    try:
        done = await run_in_threadpool(lambda: state.survey.submit(token, form, **pinned))
    except Invalid as exc:
        found = await run_in_threadpool(state.survey.resolve, token)
        if found.state != OPEN:
            return _message(request, found.state, _STATUS[found.state])
        return _form(request, state, token, found, form, exc.errors, status_code=422)
    if done.state == STORED:
        return RedirectResponse(url(request, "survey", token=token, query={"done": "1", "lang": lang_of(request)}),
                                status_code=303)
    return _message(request, done.state, 409 if done.state == ANSWERED else _STATUS[done.state])


def _form(request: Request, state: _State, token: str, found: Found, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, *, status_code: int = 200) -> Response:
    assert found.invitation is not None and found.standard is not None
    lang, inv = lang_of(request), found.invitation
    t = translator(lang)
    values, errors = values or {}, errors or {}
    standard = _questions(found.standard, False, lang, values, errors)
    own = _questions(found.agency_set, True, lang, values, errors) if found.agency_set is not None else []
    summary = [(q["name"], _error_text(t, q)) for q in (*standard, *own) if q["error"]]
    return render(request, "survey.html", {
        "token": token, "agency_name": _agency_name(state, inv.agency, lang),
        "service_name": _service_name(state, inv.agency, inv.service, inv.channel, lang),
        "visit_on": inv.visit_on, "expires_on": inv.expires_at.astimezone(TIMEZONE).date(),
        "standard": standard, "own": own, "standard_set": found.standard.id,
        "agency_set": found.agency_set.id if found.agency_set is not None else "",
        "errors": summary}, status_code=status_code)


def _questions(qs: StoredSet | None, agency: bool, lang: str, values: dict[str, str],
               errors: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for q in (qs.questions if qs is not None else ()):
        name = field_name(q, agency)
        out.append({"name": name, "kind": q.kind, "label": q.label(lang), "required": q.required,
                    "max_length": q.max_length, "value": values.get(name, ""), "error": errors.get(name),
                    "question": q})
    return out


def _error_text(t: Any, shown: dict[str, Any]) -> str:
    q: Question = shown["question"]
    if shown["error"] == "too_long":
        return t("survey_err_too_long", n=q.max_length, question=shown["label"])
    return t(f"survey_err_{shown['error']}", question=shown["label"])


def _agency_name(state: _State, code: str, lang: str) -> str:
    agency = state.registry.agencies.get(code)
    if agency is None:
        return code
    return agency.name_en if lang == "en" and agency.name_en else agency.name


def _service_name(state: _State, agency: str, service: str, channel: str, lang: str) -> str:
    """A queue's service by its label in the agency's queue settings; a request's process by its manual."""
    if channel in ("walk_in", "web", "mobile"):
        settings = state.queue_settings().get(agency)
        if settings is not None and service in settings.services:
            return str(settings.services[service].label(lang))
        return service
    manual = next((m for m in state.registry.manuals.values() if m.process_code == service), None)
    return manual.process_name if manual is not None else service
