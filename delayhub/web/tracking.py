"""The citizen's tracking page, public (no sign-in): a request's status and the notices sent for it.

A look-up is the form (POST, with its CSRF token) or the QR code on a letter (``/track?no=…&code=…``,
GET); both go through the same limiter (``delayhub.tracking``). A match redirects to the result under
a signed token that lasts ``TOKEN_MINUTES`` (``/track/view/<token>``): reloading it or switching its
language needs no second factor in any URL. Each letter's link is a token of its own, checked again
on download, so a PDF opens only after a look-up that matched.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..tracking import (
    TrackedRequest,
    Tracker,
    normalise_code,
    normalise_request_no,
    parse_factor,
    valid_national_id,
)
from .csrf import verify_csrf
from .deps import client_address, get_registry, get_store, made_once
from .i18n import translator
from .secret import web_secret
from .templating import lang_of, render, url

router = APIRouter()
Csrf = Depends(verify_csrf)
TOKEN_MINUTES = 15
_VIEW, _LETTER = "delayhub.tracking.view", "delayhub.tracking.letter"


class _State:
    """What the tracking pages keep per app: the tracker (and its limiter) and the token signer."""

    def __init__(self, request: Request) -> None:
        self.tracker = Tracker(get_store(request), get_registry(request))
        self.tokens = URLSafeTimedSerializer(web_secret())
        from ..sweep import EnglishNames  # the English agency names the letters print

        self.names = EnglishNames()


def _state(request: Request) -> _State:
    return made_once(request.app.state, "tracking", lambda: _State(request))


@router.get("/track", name="track")
def track_page(request: Request, no: str = "", code: str = "") -> Response:
    """The form; with ``no`` and a well-formed ``code`` (the QR code on a letter), the look-up itself."""
    if no.strip() and normalise_code(code):
        return _look_up(request, no, code)
    return _form(request, no, code)


@router.post("/track", name="track_submit", dependencies=[Csrf])
def track_submit(request: Request, no: Annotated[str, Form()] = "", factor: Annotated[str, Form()] = "") -> Response:
    t = translator(lang_of(request))
    errors = []
    if not normalise_request_no(no):
        errors.append(("no", t("track_no_required")))
    parsed = parse_factor(factor)
    if not factor.strip():
        errors.append(("factor", t("track_factor_required")))
    elif parsed is None:
        errors.append(("factor", t("track_factor_invalid")))
    elif parsed.kind == "nid" and not valid_national_id(parsed.value):
        errors.append(("factor", t("track_nid_invalid")))
    if errors:  # the shape of what was typed, known without the store: nothing is counted or looked up
        return _form(request, no, "", errors, status_code=400)
    return _look_up(request, no, factor)


def _look_up(request: Request, no: str, factor: str) -> Response:
    state = _state(request)
    found = state.tracker.look_up(client_address(request), no, factor)
    t = translator(lang_of(request))
    if found.retry_after:
        minutes = max(1, math.ceil(found.retry_after / 60))
        wait = t("track_limited", minutes=minutes) if minutes <= 90 else \
            t("track_limited_hours", hours=math.ceil(minutes / 60))  # the day's limit
        response = _form(request, no, "", [("no", wait)], status_code=429)
        response.headers["Retry-After"] = str(found.retry_after)
        return response
    if not found.request_ids:  # no such request, or a wrong second factor: one answer for both
        return _form(request, no, "", [("no", t("track_not_found"))], status_code=404)
    token = state.tokens.dumps(list(found.request_ids), salt=_VIEW)
    return RedirectResponse(url(request, "track_view", token=token, query={"lang": request.query_params.get("lang")}),
                            status_code=303)


def _form(request: Request, no: str, factor: str, errors: list[tuple[str, str]] | None = None, *,
          status_code: int = 200) -> Response:
    return render(request, "tracking.html", {"no": normalise_request_no(no), "factor": normalise_code(factor) or "",
                                             "errors": errors or []}, status_code=status_code)


@router.get("/track/view/{token}", name="track_view")
def track_view(request: Request, token: str) -> Response:
    state = _state(request)
    try:
        ids = state.tokens.loads(token, salt=_VIEW, max_age=TOKEN_MINUTES * 60)
    except BadSignature:  # expired ones included
        return _expired(request)
    lang = lang_of(request)
    requests = [_shown(state, state.tracker.details(int(rid)), lang) for rid in ids]
    return render(request, "tracking_result.html", {"requests": requests, "minutes": TOKEN_MINUTES})


def _shown(state: _State, tracked: TrackedRequest, lang: str) -> dict[str, Any]:
    """A request as the page shows it: names in the page's language and a signed link per letter."""
    department, division = tracked.department, tracked.division
    if lang == "en":
        department_en, division_en = state.names.of(tracked.department_code, tracked.division_code)
        department, division = department_en or department, division_en or division
    # One entry per notice, with each channel it went by: to a citizen the letter is the notice.
    notices: dict[tuple[str, int], dict[str, Any]] = {}
    for n in tracked.notices:
        entry = notices.setdefault((n.kind, n.sequence), {"kind": n.kind, "sequence": n.sequence, "sent": [],
                                                          "late_days": 0, "links": []})
        entry["sent"].append((n.channel, n.sent_on))
        entry["late_days"] = max(entry["late_days"], n.late_days)
        entry["links"] += [(language, state.tokens.dumps([tracked.request_id, n.outbox_id, language], salt=_LETTER))
                           for language in n.letters]
    return {"r": tracked, "department": department, "division": division, "notices": list(notices.values())}


@router.get("/track/letters/{token}", name="track_letter")
def track_letter(request: Request, token: str) -> Response:
    state = _state(request)
    try:
        request_id, outbox_id, language = state.tokens.loads(token, salt=_LETTER, max_age=TOKEN_MINUTES * 60)
    except (BadSignature, ValueError):
        return _expired(request)
    found = state.tracker.letter(int(request_id), int(outbox_id), str(language))
    if found is None:
        return _expired(request)
    name, pdf = found
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


def _expired(request: Request) -> Response:
    return render(request, "tracking_expired.html", status_code=404)
