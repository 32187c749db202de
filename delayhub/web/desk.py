"""The officer's desk in the browser: the agency's requests, the form to enter a delayed request
(ขั้นที่ 1 of the OPDC's form), the request's page (status, reason, ออกหนังสือแจ้ง, letters) and the
print queue. Pages only take input and show results: every rule is in ``delayhub.desk``.

An officer works on their division's requests, an agency administrator on their department's;
another agency's request answers exactly as a missing one does (404). Each form carries a one-time
token, so a double click or a resent form is saved once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from .. import config
from ..desk import (
    NEXT_STATUSES,
    PRINT_QUEUE_LIMIT,
    STATUSES,
    Desk,
    DeskForm,
    DeskRules,
    Done,
    Invalid,
    NotFound,
    Officer,
    Problem,
    form_of,
    parse_subject,
)
from ..dispatch.letters import LETTER_KINDS
from ..registry import Agency, Registry
from ..store import HubStore
from . import i18n
from .accounts import Role, WebUser
from .audit import audited_by
from .csrf import verify_csrf
from .deps import RegistryDep, StoreDep, made_once, require
from .templating import lang_of, render, url

router = APIRouter()
Staff = Annotated[WebUser, Depends(require(Role.OFFICER, Role.AGENCY_ADMIN))]
Csrf = Depends(verify_csrf)
FLASH = "desk_flash"
# The form's fields in page order: the error summary lists problems in this order.
FIELD_ORDER = ("form", "request_no", "ministry", "department", "division", "process_code", "submitted_on",
               "clock_started_on", "manual_id", "applicant_name", "applicant_email", "applicant_phone",
               "applicant_address", "consent", "delay_reason", "status", "status_on", "result")


@dataclass(frozen=True)
class Posted:
    """The new-request or edit form as posted, with its one-time token and (editing) the checksum of
    the request it was opened on."""

    form: DeskForm
    token: str
    checksum: str


async def posted_form(request: Request) -> Posted:
    """Read once: the CSRF check reads the same parsed body. The checkbox counts when it says "1"."""
    posted = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    fields = {k: posted[k] for k in DeskForm.__dataclass_fields__ if k in posted and k != "consent"}
    return Posted(DeskForm(**fields, consent=posted.get("consent") == "1"), posted.get("form_token", ""),
                  posted.get("checksum", ""))


PostedForm = Annotated[Posted, Depends(posted_form)]


def _desk(request: Request, user: WebUser, store: HubStore, registry: Registry) -> Desk:
    # calendar, mappings and the letter maker: loaded once per app
    rules = made_once(request.app.state, "desk_rules", lambda: DeskRules.load(registry))
    return Desk(store, rules, Officer(user.username, user.scope, audited_by(user)))


def _not_found() -> HTTPException:
    return HTTPException(status_code=404)  # the same page for a missing request and another agency's


def request_href(request: Request, name: str, request_no: str, **params: Any) -> str:
    """A link to one of a request's pages: its number is in the path, escaped but for its slashes."""
    return url(request, name, request_no=quote(request_no, safe="/"), **params)


def _messages(lang: str, problems: list[Problem]) -> list[tuple[str, str]]:
    """(field id, message) per problem, in the page's order."""
    t = i18n.translator(lang)
    messages = i18n.MESSAGES[lang]
    out = []
    for p in sorted(problems, key=lambda p: FIELD_ORDER.index(p.field.split("-")[0])
                    if p.field.split("-")[0] in FIELD_ORDER else len(FIELD_ORDER)):
        params = {k: i18n.format_date(v, lang) if isinstance(v, dt.date) else i18n.number(v) if isinstance(v, int)
                  else v for k, v in p.params.items()}
        base = p.field.split("-")[0]
        key = next((k for k in (f"desk_e_{p.code}_{base}", f"desk_e_{p.code}") if k in messages), "desk_e_invalid")
        out.append(("desk-form" if p.field == "form" else p.field, t(key, **params)))  # the form itself
    return out


def _flash(request: Request, key: str, **params: str) -> None:
    request.session[FLASH] = {"key": key, "params": params}


def _after(request: Request, done: Done, key: str, **params: str) -> Response:
    """Where a saved form leads (Post/Redirect/Get), with what happened; the same place for a replay."""
    _flash(request, "desk_replayed" if done.replayed else key, **params)
    found = parse_subject(done.subject)
    target = request_href(request, "desk_request", found[1]) if found else url(request, "desk")
    return RedirectResponse(target, status_code=303)


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200, *,
          fragment: bool = False) -> Response:
    """A desk page (or, with ``fragment``, a piece of one fetched by its script: it leaves the message
    of the last change to the page)."""
    lang = lang_of(request)
    flash = None if fragment else request.session.pop(FLASH, None)
    t = i18n.translator(lang)
    base: dict[str, Any] = {
        "flash": t(flash["key"], **flash["params"]) if flash else None,
        "req_url": lambda name, no, **kw: request_href(request, name, no, **kw),
        "agencies": request.app.state.hub.registry().agencies,
        "iso": dt.date.fromisoformat,
        "local_day": lambda at: at.astimezone(config.TIMEZONE).date(),
        "when": lambda at: f"{i18n.format_date(at.astimezone(config.TIMEZONE).date(), lang, short=True)} "
                           f"{at.astimezone(config.TIMEZONE):%H:%M}",
        "limit": PRINT_QUEUE_LIMIT,
    }
    return render(request, template, {**base, **context}, status_code=status_code)


# --- the list, search-as-you-type and the preview -------------------------------------------------

@router.get("/desk", name="desk")
def desk_list(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, q: str = "",
              status: str = "", overdue: str = "", after: str = "", before: str = "") -> Response:
    desk = _desk(request, user, store, registry)
    status = status if status in (*STATUSES, "open") else ""
    t = i18n.translator(lang_of(request))
    page = desk.page(status=status, overdue=overdue == "1", q=q, after=after or None, before=before or None)
    keep = {"q": q.strip(), "status": status, "overdue": "1" if overdue == "1" else ""}
    return _page(request, "desk_list.html", {
        "page": page, "filters": keep, "agency": registry.agencies[user.agency or ""],
        "status_items": [("open", t("desk_status_open")), *((s, t(f"desk_st_{s}")) for s in STATUSES)],
        "next_href": url(request, "desk", query={**keep, "after": page.next_after}) if page.next_after else None,
        "prev_href": url(request, "desk", query={**keep, "before": page.prev_before}) if page.prev_before else None,
    })


@router.get("/desk/search", name="desk_search")
def desk_search(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, q: str = "") -> Response:
    """An HTML fragment: the agency's requests whose number starts with ``q``."""
    rows = _desk(request, user, store, registry).search(q) if len(q.strip()) >= 2 else []
    return _page(request, "desk_search.html", {"rows": rows, "q": q.strip()}, fragment=True)


@router.get("/desk/preview", name="desk_preview")
def desk_preview(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, manual_id: str = "",
                 submitted_on: str = "", clock_started_on: str = "", request_no: str = "") -> Response:
    """An HTML fragment: the manual's processing time and the due date, computed here (the calendar
    and the due-date rules live on the server, never in the page's script)."""
    desk = _desk(request, user, store, registry)
    pauses: list[dict[str, Any]] = []
    if request_no:
        try:
            view = desk.view(request_no)
            pauses = view.pauses
        except NotFound:
            pass
    return _page(request, "desk_preview.html",
                 {"preview": desk.preview(manual_id, submitted_on, clock_started_on, pauses)}, fragment=True)


# --- entering and editing a request -----------------------------------------------------------------

def _form_page(request: Request, desk: Desk, form: DeskForm, *, token: str, errors: list[tuple[str, str]],
               edit: Any = None, status_code: int = 200) -> Response:
    choices = desk.choices()
    if edit is None and not form.ministry and len(choices.divisions) == 1:  # one division: chosen already
        division = choices.divisions[0]
        form = DeskForm(**{**form.__dict__, "ministry": choices.ministries[0].code,
                           "department": choices.departments[0].code, "division": division.code})
    pauses = edit.pauses if edit is not None else []
    lang = lang_of(request)

    def named(a: Agency) -> str:
        return a.name_en if lang == "en" and a.name_en else a.name

    options = {  # (value, text, the parent's value): the page's script shows a parent's children only
        "ministry": [(a.code, named(a), "") for a in choices.ministries],
        "department": [(a.code, named(a), a.parent) for a in choices.departments],
        "division": [(a.code, named(a), a.parent) for a in choices.divisions],
        "process_code": [(p.code, p.name, p.division) for p in choices.processes],
        "manual_id": [(m.manual_id, f"{m.manual_id} {m.process_name}", m.process_code) for m in choices.manuals],
    }
    return _page(request, "desk_form.html", {
        "form": form, "options": options, "token": token, "errors": errors, "edit": edit,
        "preview": desk.preview(form.manual_id, form.submitted_on, form.clock_started_on, pauses),
    }, status_code=status_code)


@router.get("/desk/new", name="desk_new")
def desk_new(request: Request, user: Staff, store: StoreDep, registry: RegistryDep) -> Response:
    desk = _desk(request, user, store, registry)
    return _form_page(request, desk, DeskForm(), token=secrets.token_urlsafe(24), errors=[])


@router.post("/desk/new", name="desk_create", dependencies=[Csrf])
def desk_create(request: Request, user: Staff, store: StoreDep, registry: RegistryDep,
                data: PostedForm) -> Response:
    desk = _desk(request, user, store, registry)
    form = data.form
    token = data.token or secrets.token_urlsafe(24)
    try:
        done = desk.create(form, token)
    except Invalid as exc:
        return _form_page(request, desk, form, token=token, errors=_messages(lang_of(request), exc.problems),
                          status_code=400)
    return _after(request, done, "desk_saved")


@router.get("/desk/edit/{request_no:path}", name="desk_edit")
def desk_edit(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str) -> Response:
    desk = _desk(request, user, store, registry)
    view = _view(desk, request_no)
    if not view.from_desk:
        raise _not_found()
    return _form_page(request, desk, _shown_form(form_of(view.row), lang_of(request)),
                      token=secrets.token_urlsafe(24), errors=[], edit=view)


@router.post("/desk/edit/{request_no:path}", name="desk_update", dependencies=[Csrf])
def desk_update(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str,
                data: PostedForm) -> Response:
    desk = _desk(request, user, store, registry)
    form = data.form
    try:
        done = desk.update(request_no, form, data.checksum, data.token or None)
    except NotFound:
        raise _not_found() from None
    except Invalid as exc:
        view = _view(desk, request_no)
        return _form_page(request, desk, DeskForm(**{**form.__dict__, "request_no": view.row.request_no}),
                          token=data.token, errors=_messages(lang_of(request), exc.problems), edit=view,
                          status_code=400)
    return _after(request, done, "desk_updated")


def _shown_form(form: DeskForm, lang: str) -> DeskForm:
    """Stored ISO dates as the officer types them (วัน/เดือน/ปี พ.ศ. in Thai)."""
    def shown(text: str) -> str:
        return i18n.date_input_value(dt.date.fromisoformat(text), lang) if text else ""
    return DeskForm(**{**form.__dict__, "submitted_on": shown(form.submitted_on),
                       "clock_started_on": shown(form.clock_started_on)})


# --- one request: its page, status, reason, notices and letters -----------------------------------

def _view(desk: Desk, request_no: str) -> Any:
    try:
        return desk.view(request_no)
    except NotFound:
        raise _not_found() from None


def _request_page(request: Request, desk: Desk, request_no: str, *, errors: list[tuple[str, str]] | None = None,
                  values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    view = _view(desk, request_no)
    lang = lang_of(request)
    t = i18n.translator(lang)
    return _page(request, "desk_request.html", {
        "view": view, "errors": errors or [], "values": values or {},
        "status_items": [(s, t(f"desk_st_{s}")) for s in NEXT_STATUSES if s != view.row.status],
        "token": secrets.token_urlsafe(24), "today_value": i18n.date_input_value(config.today(), lang),
    }, status_code=status_code)


@router.get("/desk/requests/{request_no:path}", name="desk_request")
def desk_request(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str) -> Response:
    return _request_page(request, _desk(request, user, store, registry), request_no)


@router.post("/desk/status/{request_no:path}", name="desk_status", dependencies=[Csrf])
def desk_status(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str,
                status: Annotated[str, Form()] = "", status_on: Annotated[str, Form()] = "",
                result: Annotated[str, Form()] = "", checksum: Annotated[str, Form()] = "",
                form_token: Annotated[str, Form()] = "") -> Response:
    desk = _desk(request, user, store, registry)
    try:
        done = desk.change_status(request_no, status, status_on, result, checksum, form_token or None)
    except NotFound:
        raise _not_found() from None
    except Invalid as exc:
        return _request_page(request, desk, request_no, errors=_messages(lang_of(request), exc.problems),
                             values={"status": status, "status_on": status_on, "result": result}, status_code=400)
    return _after(request, done, "desk_status_saved")


@router.post("/desk/reason/{request_no:path}", name="desk_reason", dependencies=[Csrf])
def desk_reason(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str,
                delay_reason: Annotated[str, Form()] = "", form_token: Annotated[str, Form()] = "") -> Response:
    desk = _desk(request, user, store, registry)
    try:
        done = desk.set_reason(request_no, delay_reason, form_token or None)
    except NotFound:
        raise _not_found() from None
    except Invalid as exc:
        return _request_page(request, desk, request_no, errors=_messages(lang_of(request), exc.problems),
                             values={"delay_reason": delay_reason}, status_code=400)
    return _after(request, done, "desk_reason_saved")


@router.post("/desk/issue/{request_no:path}", name="desk_issue", dependencies=[Csrf])
def desk_issue(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, request_no: str,
               form_token: Annotated[str, Form()] = "") -> Response:
    desk = _desk(request, user, store, registry)
    try:
        done = desk.issue(request_no, form_token or None)
    except NotFound:
        raise _not_found() from None
    lang = lang_of(request)
    t = i18n.translator(lang)
    swept = done.sweep
    if done.replayed or swept is None:
        return _after(request, done, "desk_replayed")
    if swept.held:
        return _after(request, done, "desk_held")
    if swept.queued:
        what = ", ".join(t("desk_what_delay", n=str(n)) if kind == "delay" else t("desk_what_result")
                         for kind, n in swept.queued)
        return _after(request, done, "desk_issued", what=what)
    if swept.next_notice_on is not None:
        return _after(request, done, "desk_nothing_owed_next", day=i18n.format_date(swept.next_notice_on, lang))
    if swept.due_on is None:
        return _after(request, done, "desk_no_due")
    return _after(request, done, "desk_nothing_owed")


@router.get("/desk/letter/{kind}/{sequence:int}/{request_no:path}", name="desk_letter")
def desk_letter(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, kind: str, sequence: int,
                request_no: str) -> Response:
    """The notice's official letter as archived: the same bytes at every download."""
    if kind not in LETTER_KINDS:
        raise _not_found()
    try:
        name, pdf = _desk(request, user, store, registry).letter(request_no, kind, sequence)
    except NotFound:
        raise _not_found() from None
    return _pdf(name, pdf)


def _pdf(name: str, pdf: bytes) -> Response:
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- the print queue ------------------------------------------------------------------------------

def _print_page(request: Request, desk: Desk, *, errors: list[tuple[str, str]] | None = None,
                values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    lang = lang_of(request)
    return _page(request, "desk_print.html", {
        "items": desk.print_queue(), "errors": errors or [], "values": values or {},
        "today_value": i18n.date_input_value(config.today(), lang), "token": secrets.token_urlsafe(24),
    }, status_code=status_code)


@router.get("/desk/print", name="desk_print")
def desk_print(request: Request, user: Staff, store: StoreDep, registry: RegistryDep) -> Response:
    return _print_page(request, _desk(request, user, store, registry))


@router.get("/desk/print/{item_id:int}/letter.pdf", name="desk_print_letter")
def desk_print_letter(request: Request, user: Staff, store: StoreDep, registry: RegistryDep,
                      item_id: int) -> Response:
    try:
        return _pdf(*_desk(request, user, store, registry).letter_of_posting(item_id))
    except NotFound:
        raise _not_found() from None


@router.post("/desk/print/{item_id:int}", name="desk_posted", dependencies=[Csrf])
def desk_posted(request: Request, user: Staff, store: StoreDep, registry: RegistryDep, item_id: int,
                posted_on: Annotated[str, Form()] = "", registered_no: Annotated[str, Form()] = "",
                form_token: Annotated[str, Form()] = "") -> Response:
    desk = _desk(request, user, store, registry)
    try:
        done = desk.record_posting(item_id, posted_on, registered_no, form_token or None)
    except NotFound:
        raise _not_found() from None
    except Invalid as exc:
        problems = [Problem(f"{p.field}-{item_id}", p.code, p.params) for p in exc.problems]
        return _print_page(request, desk, errors=_messages(lang_of(request), problems),
                           values={f"posted_on-{item_id}": posted_on, f"registered_no-{item_id}": registered_no},
                           status_code=400)
    posted = parse_subject(done.subject)
    _flash(request, "desk_replayed" if done.replayed else "desk_posting_saved", no=posted[1] if posted else "")
    return RedirectResponse(url(request, "desk_print"), status_code=303)
