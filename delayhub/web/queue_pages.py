"""The central queue's public pages (no sign-in), Thai first, working on a phone and without scripts
except where the browser's position is needed.

- ``/queue`` → an agency → its services: book ahead on the web, or on the way (mobile, within the
  agency's radius, today's queue).
- Web: a working day → a time → name, national ID and mobile number → the SMS code → the confirmation
  with the queue number, date, time and counter, and a link to cancel or change it.
- Mobile: the browser's position (``static/queue.js``), checked against the agency's radius by the
  server, then the same code and confirmation.
- Kiosk (``/queue/kiosk/<agency>?key=…``, the key from ``python -m delayhub.queueing kiosk-link``): a
  walk-in's ticket, printed as an 80 mm PDF with a QR code to follow the queue on a phone and leave a
  number for the SMS; people who booked check in there.

What a booking needs between steps (never the national ID: only its keyed hash and mask) waits in the
signed session cookie until the code is confirmed.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import replace
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ..config import TIMEZONE
from ..letters.qr import qr_svg
from ..pdpa import mask_name, mask_phone
from ..queueing.booking import Booking, local_day
from ..queueing.counter import Counters
from ..queueing.messages import booking_link
from ..queueing.otp import CODE_MINUTES
from ..queueing.rules import Booker, Refused, identify, kiosk_allowed, parse_position
from ..queueing.ticket import TicketPrinter, TicketText
from ..survey.invite import survey_link, ticket_token
from .csrf import verify_csrf
from .deps import client_address
from .i18n import translator
from .queue_api import QueueWeb, public_base, queue_web, refusal_texts
from .templating import lang_of, render, url

router = APIRouter()
Csrf = Depends(verify_csrf)
PENDING = "queue_pending"  # the booking waiting for its SMS code
PROOF = "queue_proof"  # a confirmed number's proof: another booking within its life needs no new code
PENDING_SECONDS = 15 * 60
# Refusal fields → the id of the element the error summary links to.
_FIELD_IDS = {"position": "locate", "slot": "slot", "token": "main", "service": "service", "agency": "main",
              "channel": "main", "kiosk_key": "main", "": "main"}
DONE = ("booked", "cancelled", "changed", "phone", "checked_in")

QUEUE_ROUTES = frozenset({
    "queue_home", "queue_code", "queue_code_submit", "queue_booking", "queue_cancel", "queue_change",
    "queue_change_submit", "queue_add_phone", "queue_kiosk", "queue_kiosk_submit", "queue_kiosk_ticket",
    "queue_kiosk_check_in", "queue_ticket_pdf", "queue_agency", "queue_web", "queue_web_submit", "queue_mobile",
    "queue_mobile_submit"})


def _web(request: Request) -> QueueWeb:
    return queue_web(request.app.state.hub)


def _error(request: Request, refused: Refused) -> tuple[str, str]:
    text = refusal_texts(refused)[lang_of(request)]
    return _FIELD_IDS.get(refused.field, refused.field), text


def _hm(at: dt.datetime) -> str:
    return f"{at.astimezone(TIMEZONE):%H:%M}"


def _not_found(request: Request, refused: Refused) -> Response:
    return render(request, "queue_message.html", {"errors": [_error(request, refused)]}, status_code=refused.status)


@cache
def _printer() -> TicketPrinter:
    return TicketPrinter()


# --- literal paths first: /queue/{agency} would take them otherwise ---------------------------------------

@router.get("/queue", name="queue_home")
def queue_home(request: Request) -> Response:
    web, lang = _web(request), lang_of(request)
    registry = web.queue.registry
    groups: dict[str, list[dict[str, str]]] = {}
    for code in sorted(web.queue.settings):
        ministry = registry.ministry_of(code)
        name = ministry.name_en if lang == "en" and ministry.name_en else ministry.name
        entry = {"code": code, "name": web.queue.agency_name(code, lang)}
        if registry.agencies[code].level == "division":
            entry["parent"] = web.queue.agency_name(registry.department_of(code).code, lang)
        groups.setdefault(name, []).append(entry)
    return render(request, "queue_home.html", {"groups": groups})


@router.get("/queue/code", name="queue_code")
def queue_code(request: Request) -> Response:
    pending = _pending(request)
    if pending is None:
        return render(request, "queue_message.html", {"errors": [("main", translator(lang_of(request))(
            "queue_err_expired"))], "restart": True}, status_code=410)
    return _code_page(request, pending)


@router.post("/queue/code", name="queue_code_submit", dependencies=[Csrf])
def queue_code_submit(request: Request, code: Annotated[str, Form()] = "") -> Response:
    pending = _pending(request)
    t = translator(lang_of(request))
    if pending is None:
        return render(request, "queue_message.html", {"errors": [("main", t("queue_err_expired"))], "restart": True},
                      status_code=410)
    web = _web(request)
    try:
        proof = web.codes.verify(pending["otp_id"], pending["phone"], code)
    except Refused as exc:
        return _code_page(request, pending, [_error(request, exc)], status_code=exc.status)
    request.session[PROOF] = {"phone": pending["phone"], "proof": proof}
    request.session.pop(PENDING, None)
    return _book(request, web, pending, proof)


@router.get("/queue/b/{token}", name="queue_booking")
def queue_booking(request: Request, token: str, done: str = "") -> Response:
    web = _web(request)
    booking = web.queue.find(token)
    if booking is None:
        return _not_found(request, Refused("no_booking", "token", status=404))
    return _booking_page(request, web, booking, done if done in DONE else "")


@router.post("/queue/b/{token}/cancel", name="queue_cancel", dependencies=[Csrf])
def queue_cancel(request: Request, token: str) -> Response:
    web = _web(request)
    try:
        web.queue.cancel(token)
    except Refused as exc:
        booking = web.queue.find(token)
        if booking is None:
            return _not_found(request, exc)
        return _booking_page(request, web, booking, "", [_error(request, exc)], status_code=exc.status)
    return RedirectResponse(url(request, "queue_booking", token=token, query={"done": "cancelled"}), status_code=303)


@router.get("/queue/b/{token}/change", name="queue_change")
def queue_change(request: Request, token: str, day: str = "") -> Response:
    web = _web(request)
    booking = web.queue.find(token)
    if booking is None:
        return _not_found(request, Refused("no_booking", "token", status=404))
    return _slots_page(request, web, booking.agency, booking.service, day, change=booking)


@router.post("/queue/b/{token}/change", name="queue_change_submit", dependencies=[Csrf])
def queue_change_submit(request: Request, token: str, day: Annotated[str, Form()] = "",
                        slot: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    booking = web.queue.find(token)
    if booking is None:
        return _not_found(request, Refused("no_booking", "token", status=404))
    try:
        if not slot.isdigit():
            raise Refused("no_slot", "slot", status=422)
        moved = web.queue.change(token, int(slot))
    except Refused as exc:
        return _slots_page(request, web, booking.agency, booking.service, day, change=booking,
                           errors=[_error(request, exc)], status_code=exc.status)
    return RedirectResponse(url(request, "queue_booking", token=moved.token, query={"done": "changed"}),
                            status_code=303)


@router.post("/queue/b/{token}/phone", name="queue_add_phone", dependencies=[Csrf])
def queue_add_phone(request: Request, token: str, phone: Annotated[str, Form()] = "",
                    survey_consent: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    try:
        web.queue.add_phone(token, phone, survey_consent=survey_consent == "1")
    except Refused as exc:
        booking = web.queue.find(token)
        if booking is None:
            return _not_found(request, exc)
        return _booking_page(request, web, booking, "", [_error(request, exc)], status_code=exc.status,
                             values={"phone": phone, "survey_consent": survey_consent})
    return RedirectResponse(url(request, "queue_booking", token=token, query={"done": "phone"}), status_code=303)


@router.get("/queue/ticket/{token}.pdf", name="queue_ticket_pdf")
def queue_ticket_pdf(request: Request, token: str) -> Response:
    web = _web(request)
    booking = web.queue.find(token)
    if booking is None:
        return _not_found(request, Refused("no_booking", "token", status=404))
    lang = booking.language
    t = translator(lang)
    ahead = web.queue.people_ahead(booking) if booking.active else 0
    ticket = TicketText(
        lang=lang, agency=web.queue.agency_name(booking.agency, lang),
        service=web.queue.settings_of(booking.agency).services[booking.service].label(lang),
        queue_no=booking.queue_no, counter=", ".join(web.queue.counters(booking.agency, booking.channel)),
        day=booking.day, slot=t("queue_time_range", start=_hm(booking.starts_at), end=_hm(booking.ends_at)),
        ahead=f"{t('queue_people_ahead')}: {ahead}", link=booking_link(public_base(request), token),
        qr_caption=t("queue_ticket_qr"), wait=t("queue_ticket_wait"), issued_at=web.queue.now(),
        survey_link=survey_link(ticket_token(booking.ref), public_base(request)), survey_caption=t("survey_ticket_qr"))
    pdf = _printer().render(ticket)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="queue-{booking.queue_no}.pdf"'})


@router.get("/queue/kiosk/{agency}", name="queue_kiosk")
def queue_kiosk(request: Request, agency: str, key: str = "") -> Response:
    web = _web(request)
    if not kiosk_allowed(web.key, agency, key):
        return _not_found(request, Refused("kiosk_key", status=403))
    return _kiosk_page(request, web, agency, key)


@router.post("/queue/kiosk/{agency}", name="queue_kiosk_submit", dependencies=[Csrf])
def queue_kiosk_submit(request: Request, agency: str, key: Annotated[str, Form()] = "",
                       service: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                       national_id: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                       survey_consent: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    if not kiosk_allowed(web.key, agency, key):
        return _not_found(request, Refused("kiosk_key", status=403))
    values = {"service": service, "name": name, "phone": phone, "survey_consent": survey_consent}
    try:
        booker = identify(name, national_id, phone)
        plan = web.queue.plan("walk_in", agency, service, booker, lang=lang_of(request))
        booking = web.queue.book(replace(plan, survey_consent=survey_consent == "1" and booker.phone is not None))
    except Refused as exc:
        return _kiosk_page(request, web, agency, key, [_error(request, exc)], values, status_code=exc.status)
    return RedirectResponse(url(request, "queue_kiosk_ticket", agency=agency, token=booking.token, query={"key": key}),
                            status_code=303)


@router.get("/queue/kiosk/{agency}/ticket/{token}", name="queue_kiosk_ticket")
def queue_kiosk_ticket(request: Request, agency: str, token: str, key: str = "") -> Response:
    web = _web(request)
    booking = web.queue.find(token)
    if not kiosk_allowed(web.key, agency, key) or booking is None or booking.agency != agency:
        return _not_found(request, Refused("no_booking", "token", status=404))
    link = booking_link(public_base(request), token)
    qr = base64.b64encode(qr_svg(link).encode()).decode()
    return render(request, "queue_ticket.html", {**_shown(web, booking, lang_of(request)), "key": key, "link": link,
                                                 "qr": f"data:image/svg+xml;base64,{qr}",
                                                 "ahead": web.queue.people_ahead(booking)})


@router.post("/queue/kiosk/{agency}/check-in", name="queue_kiosk_check_in", dependencies=[Csrf])
def queue_kiosk_check_in(request: Request, agency: str, key: Annotated[str, Form()] = "",
                         queue_no: Annotated[str, Form()] = "", last4: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    if not kiosk_allowed(web.key, agency, key):
        return _not_found(request, Refused("kiosk_key", status=403))
    try:
        done = web.queue.check_in(agency, queue_no, last4)
    except Refused as exc:
        field = "queue_no" if exc.field == "queue_no" else "main"
        return _kiosk_page(request, web, agency, key, [(field, refusal_texts(exc)[lang_of(request)])],
                           {"queue_no": queue_no}, status_code=exc.status)
    t = translator(lang_of(request))
    notice = t("queue_checked_in", no=done.queue_no, counter=", ".join(web.queue.counters(agency, done.channel)))
    return _kiosk_page(request, web, agency, key, notice=notice)


# --- an agency, and booking on the web or on the way ------------------------------------------------------

@router.get("/queue/{agency}", name="queue_agency")
def queue_agency(request: Request, agency: str) -> Response:
    web = _web(request)
    try:
        settings = web.queue.settings_of(agency)
    except Refused as exc:
        return _not_found(request, exc)
    lang = lang_of(request)
    return render(request, "queue_agency.html", {
        "agency": agency, "agency_name": web.queue.agency_name(agency, lang), "settings": settings,
        "services": [(s.code, s.label(lang), s.capacity) for s in settings.services.values()],
        "hours": [(f"{a:%H:%M}", f"{b:%H:%M}") for a, b in settings.hours],
        "km": f"{settings.mobile_radius_m / 1000:g}"})


@router.get("/queue/{agency}/{service}/web", name="queue_web")
def queue_web_page(request: Request, agency: str, service: str, day: str = "") -> Response:
    return _slots_page(request, _web(request), agency, service, day)


@router.post("/queue/{agency}/{service}/web", name="queue_web_submit", dependencies=[Csrf])
def queue_web_submit(request: Request, agency: str, service: str, day: Annotated[str, Form()] = "",
                     slot: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                     national_id: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                     survey_consent: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    values = {"name": name, "phone": phone, "slot": slot, "survey_consent": survey_consent}
    try:
        if not slot.isdigit():
            raise Refused("no_slot", "slot", status=422)
        booker = identify(name, national_id, phone)
        pending = {"channel": "web", "agency": agency, "service": service, "slot_id": int(slot), "day": day,
                   "survey_consent": survey_consent == "1"}
        web.queue.precheck("web", agency, service, booker, slot_id=int(slot))
        return _confirm_phone(request, web, booker, pending)
    except Refused as exc:
        return _slots_page(request, web, agency, service, day, errors=[_error(request, exc)], values=values,
                           status_code=exc.status)


@router.get("/queue/{agency}/{service}/mobile", name="queue_mobile")
def queue_mobile(request: Request, agency: str, service: str) -> Response:
    return _mobile_page(request, _web(request), agency, service)


@router.post("/queue/{agency}/{service}/mobile", name="queue_mobile_submit", dependencies=[Csrf])
def queue_mobile_submit(request: Request, agency: str, service: str, lat: Annotated[str, Form()] = "",
                        lon: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
                        national_id: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "",
                        survey_consent: Annotated[str, Form()] = "") -> Response:
    web = _web(request)
    values = {"name": name, "phone": phone, "survey_consent": survey_consent}
    try:
        booker = identify(name, national_id, phone)
        position = parse_position(lat, lon) if lat and lon else None
        web.queue.precheck("mobile", agency, service, booker, position=position)
        assert position is not None
        pending = {"channel": "mobile", "agency": agency, "service": service, "lat": position[0], "lon": position[1],
                   "survey_consent": survey_consent == "1"}
        return _confirm_phone(request, web, booker, pending)
    except Refused as exc:
        return _mobile_page(request, web, agency, service, [_error(request, exc)], values, status_code=exc.status)


# --- the steps' shared work --------------------------------------------------------------------------------

def _pending(request: Request) -> dict[str, Any] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return pending


def _confirm_phone(request: Request, web: QueueWeb, booker: Booker, pending: dict[str, Any]) -> Response:
    """Book at once if this number was confirmed a moment ago; else send a code and ask for it."""
    pending.update(name=booker.name, person_key=booker.person_key, nid_masked=booker.nid_masked, phone=booker.phone,
                   at=time.time())
    held = request.session.get(PROOF)
    if isinstance(held, dict) and held.get("phone") == booker.phone:
        return _book(request, web, pending, str(held.get("proof", "")))
    sent, delivered = web.send_code(booker.phone or "", lang_of(request), client_address(request))
    pending.update(otp_id=sent.otp_id, sent=delivered)
    request.session[PENDING] = pending
    return RedirectResponse(url(request, "queue_code"), status_code=303)


def _book(request: Request, web: QueueWeb, pending: dict[str, Any], proof: str) -> Response:
    booker = Booker(pending["name"], pending["person_key"], pending.get("nid_masked"), pending.get("phone"))
    channel, agency, service = pending["channel"], pending["agency"], pending["service"]
    try:
        position = (pending["lat"], pending["lon"]) if channel == "mobile" else None
        plan = web.queue.plan(channel, agency, service, booker, slot_id=pending.get("slot_id"), position=position,
                              proof=proof, lang=lang_of(request))
        booking = web.queue.book(replace(plan, survey_consent=bool(pending.get("survey_consent"))))
    except Refused as exc:
        errors = [_error(request, exc)]
        values = {"name": booker.name, "phone": booker.phone, "survey_consent": pending.get("survey_consent")}
        if channel == "mobile":
            return _mobile_page(request, web, agency, service, errors, values, status_code=exc.status)
        return _slots_page(request, web, agency, service, pending.get("day", ""), errors=errors, values=values,
                           status_code=exc.status)
    return RedirectResponse(url(request, "queue_booking", token=booking.token, query={"done": "booked"}),
                            status_code=303)


def _code_page(request: Request, pending: dict[str, Any], errors: list[tuple[str, str]] | None = None, *,
               status_code: int = 200) -> Response:
    web, lang = _web(request), lang_of(request)
    settings = web.queue.settings_of(pending["agency"])
    restart = url(request, "queue_mobile" if pending["channel"] == "mobile" else "queue_web", agency=pending["agency"],
                  service=pending["service"])
    return render(request, "queue_code.html", {
        "phone": mask_phone(pending["phone"]), "minutes": CODE_MINUTES, "sent": pending.get("sent", True),
        "service_name": settings.services[pending["service"]].label(lang),
        "agency_name": web.queue.agency_name(pending["agency"], lang), "restart": restart,
        "errors": errors or []}, status_code=status_code)


def _shown(web: QueueWeb, booking: Booking, lang: str) -> dict[str, Any]:
    settings = web.queue.settings_of(booking.agency)
    return {"b": booking, "agency_name": web.queue.agency_name(booking.agency, lang),
            "service_name": settings.services[booking.service].label(lang),
            "start": _hm(booking.starts_at), "end": _hm(booking.ends_at),
            "counters": ", ".join(web.queue.counters(booking.agency, booking.channel)),
            "name_masked": mask_name(booking.name), "grace": settings.grace_minutes,
            "alert": settings.people_ahead_alert}


def _booking_page(request: Request, web: QueueWeb, booking: Booking, done: str,
                  errors: list[tuple[str, str]] | None = None, *, status_code: int = 200,
                  values: dict[str, str] | None = None) -> Response:
    now = web.queue.now()
    manageable = booking.status == "booked" and booking.ends_at > now
    counters = Counters(web.queue)  # the counters' line: who is ahead, and the wait from measured service times
    position = counters.position(booking, now) if booking.active else None
    ctx = {**_shown(web, booking, lang_of(request)), "done": done, "errors": errors or [], "values": values or {},
           "ahead": position.ahead if position else web.queue.people_ahead(booking) if booking.active else None,
           "wait_minutes": position.minutes if position else None,
           "called_to": counters.called_to(booking) if booking.status == "called" else None,
           "can_cancel": manageable and booking.channel != "walk_in",
           "can_change": manageable and booking.channel == "web",
           "can_add_phone": booking.active and not booking.phone,
           "today": booking.day == local_day(now)}
    return render(request, "queue_booking.html", ctx, status_code=status_code)


def _slots_page(request: Request, web: QueueWeb, agency: str, service: str, day: str, *,
                change: Booking | None = None, errors: list[tuple[str, str]] | None = None,
                values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    lang = lang_of(request)
    try:
        settings = web.queue.service_of(agency, service)
        days = web.queue.days(agency, service, "web")
    except Refused as exc:
        return _not_found(request, exc)
    try:
        chosen = dt.date.fromisoformat(day) if day else None
    except ValueError:
        chosen = None
    if chosen not in {d for d, _ in days}:
        chosen = None
    now = web.queue.now()
    # A slot whose web places went to walk-ins shows as full (booking it would be refused).
    slots = [(s.id, _hm(s.starts_at), _hm(s.ends_at), 0 if web.queue.handed_over(settings, s, now) else free)
             for s, free in web.queue.slots(agency, service, "web", chosen, now)] if chosen else []
    return render(request, "queue_web.html", {
        "agency": agency, "service": service, "agency_name": web.queue.agency_name(agency, lang),
        "service_name": settings.services[service].label(lang), "days": days, "chosen": chosen, "slots": slots,
        "change": change, "values": values or {}, "errors": errors or [], "horizon": settings.horizon_days,
        "shown": _shown(web, change, lang) if change else None}, status_code=status_code)


def _mobile_page(request: Request, web: QueueWeb, agency: str, service: str,
                 errors: list[tuple[str, str]] | None = None, values: dict[str, Any] | None = None, *,
                 status_code: int = 200) -> Response:
    lang = lang_of(request)
    try:
        settings = web.queue.service_of(agency, service)
        today = local_day(web.queue.now())
        free = dict(web.queue.days(agency, service, "mobile")).get(today, 0)
    except Refused as exc:
        return _not_found(request, exc)
    return render(request, "queue_mobile.html", {
        "agency": agency, "service": service, "agency_name": web.queue.agency_name(agency, lang),
        "service_name": settings.services[service].label(lang), "settings": settings, "free": free,
        "km": f"{settings.mobile_radius_m / 1000:g}", "values": values or {}, "errors": errors or []},
        status_code=status_code)


def _kiosk_page(request: Request, web: QueueWeb, agency: str, key: str, errors: list[tuple[str, str]] | None = None,
                values: dict[str, str] | None = None, *, notice: str = "", status_code: int = 200) -> Response:
    lang = lang_of(request)
    settings = web.queue.settings_of(agency)
    today = local_day(web.queue.now())
    services = []
    for s in settings.services.values():
        free = dict(web.queue.days(agency, s.code, "walk_in")).get(today, 0)
        services.append((s.code, s.label(lang), free))
    return render(request, "queue_kiosk.html", {
        "agency": agency, "agency_name": web.queue.agency_name(agency, lang), "key": key, "services": services,
        "values": values or {}, "errors": errors or [], "notice": notice}, status_code=status_code)

