"""The counters (ช่องบริการ) and the hall display of the central queue. Pages only take input and show
results: every rule is in ``delayhub.queueing.counter``, the fan-out in ``delayhub.queueing.hall``.

- ``/counter``: the queues an officer may work (their division's, or their division's department's; an
  agency administrator's department and its divisions), each counter and the hall display. The OPDC
  sees every queue and may look but not call.
- ``/counter/<agency>/<counter>``: who is at the counter, call next, call again, did not come (after the
  agency's number of calls), send on to another counter, served; the line behind. Every button is a
  form with the CSRF token, audited in the change's transaction.
- ``/hall/<agency>``: public, for the screen in the waiting hall: queue number → counter in large text,
  no name or phone. ``static/hall.js`` follows ``/hall/<agency>/events`` (server-sent events, resumed
  from ``Last-Event-ID``); without scripts the page shows the latest calls again every 15 seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from ..config import TIMEZONE
from ..pdpa import mask_name, mask_phone
from ..queueing import hall
from ..queueing.booking import local_day
from ..queueing.counter import AtCounter, Counters
from ..queueing.rules import Refused
from .accounts import Role, WebUser
from .audit import audited_by
from .csrf import verify_csrf
from .deps import Hub, made_once, require
from .i18n import translator
from .queue_api import queue_web
from .templating import lang_of, render, url

router = APIRouter()
Csrf = Depends(verify_csrf)
Viewer = Annotated[WebUser, Depends(require(Role.OFFICER, Role.AGENCY_ADMIN, Role.OPDC))]
Staff = Annotated[WebUser, Depends(require(Role.OFFICER, Role.AGENCY_ADMIN))]  # the OPDC looks only
FLASH = "counter_flash"
WAITING_SHOWN = 10  # the counter page lists this many of the line
HALL_SHOWN = 8  # the hall lists this many recent calls
STREAM_SECONDS = 60  # a stream ends after this (the browser reconnects with Last-Event-ID), so a server
# shutting down waits for open displays at most this long
_FIELD_IDS = {"to": "to"}  # what a refusal links to in the error summary; else the counter's box


def counters_of(hub: Hub) -> Counters:
    """The app's counters over its queue (made on first use, like the queue itself)."""
    return made_once(hub, "counters", lambda: Counters(queue_web(hub).queue))


def _counters(request: Request) -> Counters:
    return counters_of(request.app.state.hub)


def may_view(user: WebUser, agency: str, request: Request) -> bool:
    """The OPDC sees every queue; an agency administrator the queues of their department and its divisions;
    an officer their division's queue and their department's."""
    registry = request.app.state.hub.registry()
    found = registry.agencies.get(agency)
    if found is None:
        return False
    if user.role is Role.OPDC:
        return True
    if user.agency is None:
        return False
    if user.role is Role.AGENCY_ADMIN:
        return user.scope.covers(found, registry)
    return agency in (user.agency, registry.department_of(user.agency).code)


def _queue_of(request: Request, user: WebUser, agency: str) -> Counters:
    """The counters, if ``agency`` has a queue this person may see; else 404 (as if there were none)."""
    counters = _counters(request)
    if agency not in counters.queue.settings or not may_view(user, agency, request):
        raise HTTPException(status_code=404)
    return counters


def counter_href(request: Request, name: str, agency: str, counter: str) -> str:
    return url(request, name, agency=agency, counter=quote(counter, safe=""))


def _hm(at: Any) -> str:
    return f"{at.astimezone(TIMEZONE):%H:%M}" if at is not None else ""


def _refusal(request: Request, exc: Refused) -> tuple[str, str]:
    return _FIELD_IDS.get(exc.field, "current"), translator(lang_of(request))(f"counter_err_{exc.code}", **exc.params)


def _flash(request: Request, key: str, **params: str) -> None:
    request.session[FLASH] = {"key": key, "params": params}


# --- which counter ------------------------------------------------------------------------------------------

@router.get("/counter", name="counter_index")
def counter_index(request: Request, user: Viewer) -> Response:
    counters, lang = _counters(request), lang_of(request)
    t = translator(lang)
    queues = []
    for agency in sorted(counters.queue.settings):
        if not may_view(user, agency, request):
            continue
        settings = counters.queue.settings_of(agency)
        rows = []
        for name in counters.names(agency):
            channels = counters.channels_of(agency, name)
            rows.append({"name": name, "href": counter_href(request, "counter_page", agency, name),
                         "channels": ", ".join(f"{t('queue_channel_' + ch)} ({settings.desks[ch].prefix})"
                                               for ch in channels)})
        queues.append({"agency": agency, "name": counters.queue.agency_name(agency, lang), "counters": rows})
    return render(request, "queue_counter_index.html", {"queues": queues, "read_only": user.role is Role.OPDC})


# --- one counter --------------------------------------------------------------------------------------------

@router.get("/counter/{agency}/{counter}", name="counter_page")
def counter_page(request: Request, user: Viewer, agency: str, counter: str) -> Response:
    return _page(request, user, _queue_of(request, user, agency), agency, counter)


def _page(request: Request, user: WebUser, counters: Counters, agency: str, counter: str,
          errors: list[tuple[str, str]] | None = None, status_code: int = 200) -> Response:
    lang = lang_of(request)
    t = translator(lang)
    try:
        channels = counters.channels_of(agency, counter)
    except Refused:
        raise HTTPException(status_code=404) from None
    settings = counters.queue.settings_of(agency)
    now = counters.now()
    current = counters.current(agency, counter, now)
    line = counters.waiting(agency, counter, now)
    flash = request.session.pop(FLASH, None)

    def service(code: str) -> str:
        found = settings.services.get(code)
        return found.label(lang) if found else code

    def when(b: AtCounter) -> str:
        if b.counter is not None:
            return t("counter_sent_on")
        if b.channel == "walk_in":
            return ""
        ends = b.starts_at + dt.timedelta(minutes=settings.slot_minutes)
        slot = t("counter_slot", start=_hm(b.starts_at), end=_hm(ends))
        return f"{slot} · {t('counter_arrived', at=_hm(b.checked_in_at))}" if b.checked_in_at else slot

    shown = None
    if current is not None:
        shown = {"b": current, "service": service(current.service), "name": mask_name(current.name),
                 "phone": mask_phone(current.phone) if current.phone else None, "called_at": _hm(current.called_at),
                 "waited": (current.wait_seconds or 0) // 60,
                 "can_no_show": current.calls >= settings.no_show_after_calls}
    estimates = [(service(code), max(1, round(e.seconds / 60)), e.samples)
                 for code, e in counters.estimates(agency, counter, now).items()]
    return render(request, "queue_counter.html", {
        "agency": agency, "agency_name": counters.queue.agency_name(agency, lang), "counter": counter,
        "channels": ", ".join(t("queue_channel_" + ch) for ch in channels), "current": shown,
        "no_show_after": settings.no_show_after_calls, "others": [c for c in counters.names(agency) if c != counter],
        "line": [{"no": b.queue_no, "service": service(b.service), "when": when(b)} for b in line[:WAITING_SHOWN]],
        "waiting": len(line), "more": max(0, len(line) - WAITING_SHOWN), "estimates": estimates,
        "can_work": user.role is not Role.OPDC, "errors": errors or [],
        "flash": t(flash["key"], **flash["params"]) if flash else None,
        "action": lambda name: counter_href(request, name, agency, counter)}, status_code=status_code)


def _after(request: Request, agency: str, counter: str) -> Response:
    return RedirectResponse(counter_href(request, "counter_page", agency, counter), status_code=303)


def _act(request: Request, user: WebUser, agency: str, counter: str, done_key: str,
         work: Callable[[Counters, Any], Any], /, **done: str) -> Response:
    """Run one button's ``work`` (given the counters and the audit hook, it returns the booking acted on) and
    flash ``done_key`` with its number; on a refusal, the page again with the reason (and its status)."""
    counters = _queue_of(request, user, agency)
    try:
        counters.channels_of(agency, counter)
    except Refused:
        raise HTTPException(status_code=404) from None
    try:
        booking = work(counters, audited_by(user))
    except Refused as exc:
        return _page(request, user, counters, agency, counter, [_refusal(request, exc)], status_code=exc.status)
    _flash(request, done_key, no=booking.queue_no, **done)
    return _after(request, agency, counter)


@router.post("/counter/{agency}/{counter}/call", name="counter_call", dependencies=[Csrf])
def counter_call(request: Request, user: Staff, agency: str, counter: str) -> Response:
    return _act(request, user, agency, counter, "counter_done_called",
                lambda c, audited: c.call_next(agency, counter, audited=audited), counter=counter)


@router.post("/counter/{agency}/{counter}/recall", name="counter_recall", dependencies=[Csrf])
def counter_recall(request: Request, user: Staff, agency: str, counter: str, booking: Annotated[int, Form()],
                   calls: Annotated[int | None, Form()] = None) -> Response:
    return _act(request, user, agency, counter, "counter_done_recalled",
                lambda c, audited: c.recall(agency, counter, booking, calls=calls, audited=audited))


@router.post("/counter/{agency}/{counter}/served", name="counter_served", dependencies=[Csrf])
def counter_served(request: Request, user: Staff, agency: str, counter: str,
                   booking: Annotated[int, Form()]) -> Response:
    return _act(request, user, agency, counter, "counter_done_served",
                lambda c, audited: c.served(agency, counter, booking, audited=audited))


@router.post("/counter/{agency}/{counter}/no-show", name="counter_no_show", dependencies=[Csrf])
def counter_no_show(request: Request, user: Staff, agency: str, counter: str,
                    booking: Annotated[int, Form()]) -> Response:
    return _act(request, user, agency, counter, "counter_done_no_show",
                lambda c, audited: c.no_show(agency, counter, booking, audited=audited))


@router.post("/counter/{agency}/{counter}/transfer", name="counter_transfer", dependencies=[Csrf])
def counter_transfer(request: Request, user: Staff, agency: str, counter: str, booking: Annotated[int, Form()],
                     to: Annotated[str, Form()] = "") -> Response:
    return _act(request, user, agency, counter, "counter_done_transferred",
                lambda c, audited: c.transfer(agency, counter, booking, to, audited=audited), to=to.strip())


# --- the hall display (public: numbers and counters only) ---------------------------------------------------

def _hall_json(call: hall.HallCall, services: dict[str, str]) -> dict[str, Any]:
    return {"id": call.id, "queue_no": call.queue_no, "counter": call.counter, "kind": call.kind,
            "service": services.get(call.service, call.service), "at": _hm(call.at)}


def _services(counters: Counters, agency: str, lang: str) -> dict[str, str]:
    return {code: s.label(lang) for code, s in counters.queue.settings_of(agency).services.items()}


@router.get("/hall/{agency}", name="hall")
def hall_page(request: Request, agency: str) -> Response:
    counters, lang = _counters(request), lang_of(request)
    if agency not in counters.queue.settings:
        raise HTTPException(status_code=404)
    calls = hall.latest(counters.store, agency, local_day(counters.now()), HALL_SHOWN)
    services = _services(counters, agency, lang)
    shown = [_hall_json(c, services) for c in calls]
    return render(request, "queue_hall.html", {
        "agency": agency, "agency_name": counters.queue.agency_name(agency, lang), "calls": shown,
        "now": shown[0] if shown else None, "shown": HALL_SHOWN,
        "events": url(request, "hall_events", agency=agency, query={"after": calls[0].id if calls else 0,
                                                                    "lang": lang})})


@router.get("/hall/{agency}/events", name="hall_events")
async def hall_events(request: Request, agency: str, after: int = 0) -> Response:
    """Server-sent events: each call after ``Last-Event-ID`` (or ``after``), read from the table whenever
    this process is woken, and on every keep-alive."""
    counters, lang = await run_in_threadpool(_counters, request), lang_of(request)  # the first opens the store
    if agency not in counters.queue.settings:
        raise HTTPException(status_code=404)
    resumed = request.headers.get("last-event-id", "")
    last = int(resumed) if resumed.isdigit() else max(0, after)
    services = _services(counters, agency, lang)
    feed = hall.feed_of(counters.store)
    keepalive = hall.keepalive_seconds()

    async def stream() -> AsyncIterator[str]:
        nonlocal last
        waiter = feed.subscribe(agency)  # before the first read: a call committed after it wakes us
        try:
            yield "retry: 3000\n\n"
            loop = asyncio.get_running_loop()
            ends = loop.time() + STREAM_SECONDS
            while loop.time() < ends:
                waiter.clear()
                calls = await run_in_threadpool(hall.calls_after, counters.store, agency,
                                                local_day(counters.now()), last)
                for call in calls:
                    last = call.id
                    data = json.dumps(_hall_json(call, services), ensure_ascii=False)
                    yield f"id: {call.id}\nevent: call\ndata: {data}\n\n"
                if not await waiter.wait(min(keepalive, max(0.0, ends - loop.time()))):
                    yield ": keep-alive\n\n"
        finally:
            feed.unsubscribe(waiter)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
