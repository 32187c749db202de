"""The central queue's JSON API, for agencies' kiosks, mobile apps and any other client.

Mounted at ``/queue/api`` (``create_api``): a bare Starlette router, no form parsing, no ORM, no session
lookup on the booking path. It reads no cookie, so a cross-site page gains nothing by calling it that it
could not do itself: who may book is proven in the body (a confirmed phone's signed proof, a kiosk's key),
not by the browser's cookies, and there is no CSRF token to check.

  GET  /v1/agencies                                  agencies with a queue, their services and channels
  GET  /v1/agencies/{agency}/days?service=&channel=  working days one may book, with free places
  GET  /v1/agencies/{agency}/slots?service=&channel=&day=YYYY-MM-DD   slots with free places
  POST /v1/otp           {phone, lang}                    → {otp_id, expires_in, phone_masked, sent}
  POST /v1/otp/verify    {otp_id, phone, code}            → {proof, expires_in}
  POST /v1/bookings      {channel, agency, service, name, national_id | phone, proof (web, mobile),
                          slot_id (web), lat + lon (mobile), kiosk_key (walk_in), lang,
                          survey_consent (true: may be asked about the service afterwards)}
                                                          → 201 {booking, token, link}
  GET  /v1/bookings/{token}                              → {booking, people_ahead}
  POST /v1/bookings/{token}/cancel                       → {booking}
  POST /v1/bookings/{token}/change {slot_id}             → {booking, token, link}
  POST /v1/kiosk/{agency}/check-in {kiosk_key, queue_no, last4}  → {booking}

A refusal is ``{"error": code, "field", "message" (Thai), "message_en"}`` with its HTTP status: a full
slot is 409 ``full`` "คิวเต็มแล้ว …".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import replace
from typing import Any

import requests
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router

from .. import config
from ..config import TIMEZONE
from ..dispatch.sms_providers import SmsProvider, create_provider
from ..queueing.booking import Booking, Queue
from ..queueing.fastpath import AsyncBooker
from ..queueing.messages import PUBLIC_URL_ENV, booking_link
from ..queueing.otp import Codes
from ..queueing.rules import PROOF_SECONDS, Refused, identify, kiosk_allowed, parse_position
from ..queueing.settings import CHANNELS, LiveCalendar, LiveSettings
from . import i18n
from .deps import Hub, client_address, made_once
from .secret import web_secret

API_PREFIX = "/queue/api"


def queue_key(secret: str) -> bytes:
    """The queue's signing key (booking links, phone proofs, kiosk keys), derived from the app's secret."""
    return hmac.new(secret.encode(), b"delayhub central queue", hashlib.sha256).digest()


class QueueWeb:
    """What the queue's pages and API share in one process: the queue (and its slot cache), the codes,
    the async booker and the SMS provider of the dispatcher's configuration."""

    def __init__(self, hub: Hub) -> None:
        store, registry = hub.store(), hub.registry()
        self.key = queue_key(web_secret())
        # settings and calendar edits apply while running (checked every few seconds; a broken edit is kept out)
        self.queue = Queue(store, registry, LiveSettings(registry), self.key, calendar=LiveCalendar())
        self.codes = Codes(store, self.key)
        self.booker = AsyncBooker(self.queue)
        self.sms_config = config.dispatch_from_env().sms

    def provider(self) -> SmsProvider:
        return create_provider(self.sms_config.provider, self.sms_config, requests.Session())

    def send_code(self, phone: str, lang: str, client: str) -> tuple[Any, bool]:
        """Queue a code's SMS in the outbox and try to hand it to the gateway at once."""
        sent = self.codes.request(phone, lang, client)
        return sent, self.codes.deliver(sent.outbox_id, self.provider())


def queue_web(hub: Hub) -> QueueWeb:
    """The queue's shared state of this app (made on first use, like the hub store itself)."""
    return made_once(hub, "queue_web", lambda: QueueWeb(hub))


def public_base(request: Request) -> str:
    """The app's address for links shown to this request's own client (a page, a QR code, an API answer):
    DELAYHUB_PUBLIC_URL, else where the request came in. Links sent by SMS use the configured address only
    (``messages.public_url``): a forged Host header must not put another site's link in an agency's SMS."""
    configured = os.environ.get(PUBLIC_URL_ENV)
    if configured:
        return configured.rstrip("/")
    scope = request.scope
    root = scope.get("root_path", "").removesuffix(API_PREFIX)
    host = request.headers.get("host") or "localhost"
    return f"{scope.get('scheme', 'http')}://{host}{root}"


def refusal_texts(refused: Refused) -> dict[str, str]:
    """The refusal's message in each language."""
    params = dict(refused.params)
    if "distance_m" in params:
        params["distance_km"] = f"{params['distance_m'] / 1000:.1f}"
        params["limit_km"] = f"{params['limit_m'] / 1000:.1f}"
    return {lang: i18n.translator(lang)(f"queue_err_{refused.code}", **params) for lang in i18n.LANGUAGES}


def refusal(refused: Refused) -> JSONResponse:
    texts = refusal_texts(refused)
    body = {"error": refused.code, "field": refused.field, "message": texts["th"], "message_en": texts["en"]}
    body.update({k: v for k, v in refused.params.items() if isinstance(v, int | str)})
    headers = {"Retry-After": str(refused.params["retry_after"])} if "retry_after" in refused.params else None
    return JSONResponse(body, status_code=refused.status, headers=headers)


def bad_request() -> JSONResponse:
    return refusal(Refused("bad_request", status=400))


def local_hm(at: dt.datetime) -> str:
    return f"{at.astimezone(TIMEZONE):%H:%M}"


def booking_json(queue: Queue, b: Booking, lang: str = "th") -> dict[str, Any]:
    settings = queue.settings_of(b.agency)
    return {"queue_no": b.queue_no, "status": b.status, "channel": b.channel, "agency": b.agency,
            "agency_name": queue.agency_name(b.agency, lang), "service": b.service,
            "service_name": settings.services[b.service].label(lang), "day": b.day.isoformat(),
            "starts_at": local_hm(b.starts_at), "ends_at": local_hm(b.ends_at),
            "counters": list(queue.counters(b.agency, b.channel)), "phone_masked": b.phone_masked}


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def create_api(hub: Hub) -> Router:
    """The API on the app's hub (the same queue state as the pages): a bare router, so a request passes
    through no middleware of its own (the app's security headers still apply)."""

    def state() -> QueueWeb:
        return queue_web(hub)

    def agencies(request: Request) -> Response:
        lang = i18n.pick(request.query_params.get("lang")) or "th"
        q = state().queue
        out = []
        for code, s in sorted(q.settings.items()):
            out.append({"agency": code, "name": q.agency_name(code, lang), "lat": s.lat, "lon": s.lon,
                        "mobile_radius_m": s.mobile_radius_m, "booking_horizon_days": s.horizon_days,
                        "hours": [[f"{a:%H:%M}", f"{b:%H:%M}"] for a, b in s.hours],
                        "counters": {ch: {"prefix": d.prefix, "counters": list(d.counters)}
                                     for ch, d in s.desks.items()},
                        "services": [{"service": sv.code, "name": sv.label(lang), "daily_capacity": dict(sv.capacity)}
                                     for sv in s.services.values()]})
        return JSONResponse({"agencies": out})

    def days(request: Request) -> Response:
        p = request.query_params
        try:
            found = state().queue.days(request.path_params["agency"], p.get("service", ""), p.get("channel", "web"))
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"days": [{"day": d.isoformat(), "free": free} for d, free in found]})

    def slots(request: Request) -> Response:
        p = request.query_params
        try:
            day = dt.date.fromisoformat(p.get("day", ""))
        except ValueError:
            return bad_request()
        try:
            found = state().queue.slots(request.path_params["agency"], p.get("service", ""), p.get("channel", "web"),
                                        day)
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"slots": [{"slot_id": s.id, "starts_at": local_hm(s.starts_at),
                                        "ends_at": local_hm(s.ends_at), "free": free} for s, free in found]})

    async def otp(request: Request) -> Response:
        data = await _body(request)
        if data is None:
            return bad_request()
        lang = i18n.pick(data.get("lang")) or "th"
        try:
            sent, delivered = await run_in_threadpool(state().send_code, _text(data, "phone"), lang,
                                                      client_address(request))
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"otp_id": sent.otp_id, "phone_masked": sent.phone_masked, "sent": delivered,
                             "expires_in": int((sent.expires_at - state().queue.now()).total_seconds())})

    async def otp_verify(request: Request) -> Response:
        data = await _body(request)
        if data is None:
            return bad_request()
        try:
            proof = await run_in_threadpool(state().codes.verify, _text(data, "otp_id"), _text(data, "phone"),
                                            _text(data, "code"))
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"proof": proof, "expires_in": PROOF_SECONDS})

    async def book(request: Request) -> Response:
        """The hot path: checks in memory, then the one booking statement."""
        data = await _body(request)
        if data is None:
            return bad_request()
        web = state()
        q = web.queue
        lang = i18n.pick(data.get("lang")) or "th"
        channel, agency, service = _text(data, "channel") or "web", _text(data, "agency"), _text(data, "service")
        try:
            if channel not in CHANNELS:
                raise Refused("no_channel", "channel", status=404)
            if channel == "walk_in" and not kiosk_allowed(web.key, agency, _text(data, "kiosk_key")):
                raise Refused("kiosk_key", "kiosk_key", status=403)
            booker = identify(_text(data, "name"), _text(data, "national_id"), _text(data, "phone"))
            position = parse_position(data.get("lat"), data.get("lon")) if channel == "mobile" else None
            slot_id = data.get("slot_id")
            if channel == "web" and (isinstance(slot_id, bool) or not isinstance(slot_id, int | str)
                                     or not str(slot_id).isdigit()):
                raise Refused("no_slot", "slot", status=404)
            now = q.now()
            if not q.is_open(agency, now):
                await run_in_threadpool(q.open, agency, now)
            plan = q.plan(channel, agency, service, booker, slot_id=int(slot_id) if channel == "web" else None,
                          position=position, proof=_text(data, "proof"), lang=lang, now=now)
            if data.get("survey_consent") is True and booker.phone:  # may be asked about the service afterwards
                plan = replace(plan, survey_consent=True)
            booking = await web.booker.book(plan)
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"booking": booking_json(q, booking, lang), "token": booking.token,
                             "link": booking_link(public_base(request), booking.token)}, status_code=201)

    def show(request: Request) -> Response:
        q = state().queue
        found = q.find(request.path_params["token"])
        if found is None:
            return refusal(Refused("no_booking", "token", status=404))
        ahead = q.people_ahead(found) if found.active else 0
        return JSONResponse({"booking": booking_json(q, found, found.language), "people_ahead": ahead})

    async def cancel(request: Request) -> Response:
        q = state().queue
        try:
            done = await run_in_threadpool(q.cancel, request.path_params["token"])
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"booking": booking_json(q, done, done.language)})

    async def change(request: Request) -> Response:
        data = await _body(request)
        slot_id = _text(data or {}, "slot_id")
        if not slot_id.isdigit():
            return bad_request()
        q = state().queue
        try:
            done = await run_in_threadpool(q.change, request.path_params["token"], int(slot_id))
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"booking": booking_json(q, done, done.language), "token": done.token,
                             "link": booking_link(public_base(request), done.token)})

    async def check_in(request: Request) -> Response:
        data = await _body(request)
        if data is None:
            return bad_request()
        web, agency = state(), request.path_params["agency"]
        if not kiosk_allowed(web.key, agency, _text(data, "kiosk_key")):
            return refusal(Refused("kiosk_key", "kiosk_key", status=403))
        try:
            done = await run_in_threadpool(web.queue.check_in, agency, _text(data, "queue_no"), _text(data, "last4"))
        except Refused as exc:
            return refusal(exc)
        return JSONResponse({"booking": booking_json(web.queue, done, done.language)})

    return Router(routes=[
        Route("/v1/agencies", agencies, methods=["GET"]),
        Route("/v1/agencies/{agency}/days", days, methods=["GET"]),
        Route("/v1/agencies/{agency}/slots", slots, methods=["GET"]),
        Route("/v1/otp", otp, methods=["POST"]),
        Route("/v1/otp/verify", otp_verify, methods=["POST"]),
        Route("/v1/bookings", book, methods=["POST"]),
        Route("/v1/bookings/{token}", show, methods=["GET"]),
        Route("/v1/bookings/{token}/cancel", cancel, methods=["POST"]),
        Route("/v1/bookings/{token}/change", change, methods=["POST"]),
        Route("/v1/kiosk/{agency}/check-in", check_in, methods=["POST"]),
    ])
