"""Each agency's queue, as its own file ``data/queue/<DEPARTMENT or DIVISION>.yaml``: no code to edit.

A file says where the agency is (for the mobile channel's distance check), when it is open, how long a
slot lasts, how many people each service takes a day on each channel (walk-in, web, mobile), how far
ahead one may book, the counters serving each channel and their queue-number prefix, how long a booking
waits for its person to check in, and whether unused web places go to walk-ins in the afternoon. Every
mistake is reported with the file and the field (``ConfigError``), before any slot is made from it.

A running process sees an edit without a restart (``LiveSettings``, ``LiveCalendar``): the files' times are
looked at every few seconds, and a broken edit keeps the last good settings and is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..calendar import ThaiCalendar
from ..config import TIMEZONE, project_root
from ..errors import ConfigError
from ..registry import Registry

CHANNELS = ("walk_in", "web", "mobile")
DEFAULT_NO_SHOW_CALLS = 3  # calls before a counter may mark someone absent, when a file does not say
COUNTER_NAME_MAX = 20
SETTINGS_ENV = "DELAYHUB_QUEUE_SETTINGS"
CHECK_SECONDS = 5.0  # a running process looks at the files' times at most this often (LiveSettings)

log = logging.getLogger(__name__)

# The central queue plan: the mobile channel books "near the agency, about 1–2 km".
RADIUS_RANGE = (1000, 2000)
# Thailand's bounding box, with a margin: a swapped latitude and longitude falls outside it.
LAT_RANGE, LON_RANGE = (5.0, 21.0), (97.0, 106.0)
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
_PREFIX = re.compile(r"^[A-Z]{1,2}$")


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    capacity: Mapping[str, int]  # places a day per channel

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name


@dataclass(frozen=True)
class ChannelDesk:
    """Who serves a channel: its queue-number prefix and its counters (ช่องบริการ)."""

    prefix: str
    counters: tuple[str, ...]


@dataclass(frozen=True)
class QueueSettings:
    agency: str
    source: str  # the file, for messages
    lat: float
    lon: float
    hours: tuple[tuple[dt.time, dt.time], ...]
    slot_minutes: int
    horizon_days: int
    mobile_radius_m: int
    grace_minutes: int
    people_ahead_alert: int  # the SMS "your turn is near" goes when this many are ahead (the calling part)
    handover_from: dt.time | None  # unused web places of today's slots from then go to walk-ins
    desks: Mapping[str, ChannelDesk]
    services: Mapping[str, Service]
    digest: str  # of the file's meaning: slots made from older settings are brought in line
    no_show_after_calls: int = DEFAULT_NO_SHOW_CALLS  # calls before a counter may mark someone absent

    def slot_times(self) -> list[tuple[dt.time, dt.time]]:
        """The day's slots as (start, end) local times, in order."""
        out = []
        step = dt.timedelta(minutes=self.slot_minutes)
        for start, end in self.hours:
            at = dt.datetime.combine(dt.date(2000, 1, 1), start)
            stop = dt.datetime.combine(dt.date(2000, 1, 1), end)
            while at + step <= stop:
                out.append((at.time(), (at + step).time()))
                at += step
        return out

    def split(self, service: str, channel: str) -> list[int]:
        """The service's daily places on a channel shared over the day's slots, earlier slots first
        for the remainder (30 places over 14 slots: 3, 3, 2, …)."""
        total, n = self.services[service].capacity.get(channel, 0), len(self.slot_times())
        return [total // n + (1 if i < total % n else 0) for i in range(n)]

    def local(self, day: dt.date, at: dt.time) -> dt.datetime:
        """A local time on ``day`` as an aware UTC datetime (what the store keeps)."""
        return dt.datetime.combine(day, at, TIMEZONE).astimezone(dt.UTC)


def settings_dir() -> Path:
    return Path(os.environ.get(SETTINGS_ENV) or project_root() / "data" / "queue")


def load_all(registry: Registry, folder: Path | None = None) -> dict[str, QueueSettings]:
    """Every agency's queue settings, by agency code. The first mistake stops the load."""
    folder = folder or settings_dir()
    out: dict[str, QueueSettings] = {}
    for path in sorted(folder.glob("*.yaml")):
        settings = load_file(path, registry)
        out[settings.agency] = settings
    return out


def load_each(registry: Registry, folder: Path | None = None) -> tuple[dict[str, QueueSettings], list[ConfigError]]:
    """Every file that reads, by agency, and the mistake of each one that does not: scheduled work goes on
    for every other agency while one file is being fixed."""
    out: dict[str, QueueSettings] = {}
    errors: list[ConfigError] = []
    for path in sorted((folder or settings_dir()).glob("*.yaml")):
        try:
            settings = load_file(path, registry)
        except ConfigError as exc:
            errors.append(exc)
            continue
        out[settings.agency] = settings
    return out, errors


def load_file(path: Path, registry: Registry) -> QueueSettings:
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(source, "", f"cannot read queue settings: {exc}") from exc
    return parse(data, source, registry, expected=path.stem)


def parse(data: Any, source: str, registry: Registry, expected: str | None = None) -> QueueSettings:
    """Queue settings from a file's content; ``expected`` is the agency code its name promises."""
    f = _Fields(source)
    if not isinstance(data, dict):
        raise ConfigError(source, "", "the file must be a mapping of settings (agency, location, services…)")
    f.known(data, "", {"agency", "location", "opening_hours", "slot_minutes", "booking_horizon_days",
                       "mobile_radius_m", "grace_minutes", "people_ahead_alert", "web_to_walk_in", "counters",
                       "services", "no_show_after_calls"})
    agency = f.text(data, "agency")
    if agency not in registry.agencies:
        raise ConfigError(source, "agency", f"'{agency}' is not in data/registry/agencies.json")
    if registry.agencies[agency].level not in ("department", "division"):
        raise ConfigError(source, "agency", f"'{agency}' is a {registry.agencies[agency].level}: a queue belongs "
                                            "to a department or a division")
    if expected is not None and expected != agency:
        raise ConfigError(source, "agency", f"the file for '{agency}' must be named {agency}.yaml")

    location = f.mapping(data, "location")
    f.known(location, "location", {"lat", "lon"})
    lat = f.number(location, "lat", "location.lat", *LAT_RANGE)
    lon = f.number(location, "lon", "location.lon", *LON_RANGE)

    hours = _hours(f, data)
    slot_minutes = f.integer(data, "slot_minutes", "slot_minutes", 5, 600)
    for i, (start, end) in enumerate(hours):
        length = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
        if length % slot_minutes:
            raise ConfigError(source, f"opening_hours[{i}]",
                              f"{start:%H:%M}–{end:%H:%M} is {length} minutes: not a whole number of "
                              f"{slot_minutes}-minute slots")
    horizon = f.integer(data, "booking_horizon_days", "booking_horizon_days", 0, 90)
    radius = f.integer(data, "mobile_radius_m", "mobile_radius_m", *RADIUS_RANGE)
    grace = f.integer(data, "grace_minutes", "grace_minutes", 0, 120)
    alert = f.integer(data, "people_ahead_alert", "people_ahead_alert", 1, 50)
    # optional: how many calls (the first and the recalls) before a counter may mark someone absent
    no_show_calls = (f.integer(data, "no_show_after_calls", "no_show_after_calls", 1, 10)
                     if "no_show_after_calls" in data else DEFAULT_NO_SHOW_CALLS)

    handover = data.get("web_to_walk_in") or {}
    handover_from = None
    if not isinstance(handover, dict):
        raise ConfigError(source, "web_to_walk_in", "must be {enabled: true|false, from: 'HH:MM'}")
    f.known(handover, "web_to_walk_in", {"enabled", "from"})
    if handover.get("enabled") not in (None, True, False):
        raise ConfigError(source, "web_to_walk_in.enabled", "must be true or false")
    if handover.get("enabled"):
        handover_from = f.time(handover.get("from"), "web_to_walk_in.from")
        if not any(start <= handover_from < end for start, end in hours):
            raise ConfigError(source, "web_to_walk_in.from",
                              f"{handover_from:%H:%M} is outside the opening hours")

    counters = f.mapping(data, "counters")
    f.known(counters, "counters", set(CHANNELS))
    desks: dict[str, ChannelDesk] = {}
    for channel in CHANNELS:
        where = f"counters.{channel}"
        desk = f.mapping(counters, channel, where)
        f.known(desk, where, {"prefix", "names"})
        prefix = str(desk.get("prefix", ""))
        if not _PREFIX.match(prefix):
            raise ConfigError(source, f"{where}.prefix", f"'{prefix}' must be one or two capital letters (A, W, M)")
        names = desk.get("names")
        if not isinstance(names, list) or not names or not all(str(n).strip() for n in names):
            raise ConfigError(source, f"{where}.names", "must list at least one counter (ช่องบริการ), e.g. ['1', '2']")
        if any(len(str(n).strip()) > COUNTER_NAME_MAX for n in names):  # the store keeps 20 characters
            raise ConfigError(source, f"{where}.names", f"a counter's name has at most {COUNTER_NAME_MAX} characters")
        desks[channel] = ChannelDesk(prefix, tuple(str(n).strip() for n in names))
    prefixes = [d.prefix for d in desks.values()]
    if len(set(prefixes)) != len(prefixes):
        raise ConfigError(source, "counters", f"each channel needs its own prefix (got {', '.join(prefixes)})")

    services = _services(f, data)
    n_slots = sum(((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute)) // slot_minutes for s, e in hours)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
    settings = QueueSettings(agency, source, lat, lon, hours, slot_minutes, horizon, radius, grace, alert,
                             handover_from, desks, services, digest, no_show_calls)
    assert len(settings.slot_times()) == n_slots
    return settings


def _hours(f: _Fields, data: dict[str, Any]) -> tuple[tuple[dt.time, dt.time], ...]:
    items = data.get("opening_hours")
    if not isinstance(items, list) or not items:
        raise ConfigError(f.source, "opening_hours", "must list the opening hours, e.g. [{from: '08:30', to: '12:00'}]")
    hours = []
    for i, item in enumerate(items):
        where = f"opening_hours[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f.source, where, "must be {from: 'HH:MM', to: 'HH:MM'}")
        f.known(item, where, {"from", "to"})
        start, end = f.time(item.get("from"), f"{where}.from"), f.time(item.get("to"), f"{where}.to")
        if end <= start:
            raise ConfigError(f.source, f"{where}.to", f"{end:%H:%M} is not after {start:%H:%M}")
        if hours and start < hours[-1][1]:
            raise ConfigError(f.source, f"{where}.from", f"{start:%H:%M} overlaps or comes before the hours "
                                                          f"above it (ending {hours[-1][1]:%H:%M})")
        hours.append((start, end))
    return tuple(hours)


def _services(f: _Fields, data: dict[str, Any]) -> dict[str, Service]:
    items = data.get("services")
    if not isinstance(items, list) or not items:
        raise ConfigError(f.source, "services", "must list at least one service")
    services: dict[str, Service] = {}
    for i, item in enumerate(items):
        where = f"services[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f.source, where, "must be {code, name, name_en, daily_capacity}")
        f.known(item, where, {"code", "name", "name_en", "daily_capacity"})
        code = f.text(item, "code", f"{where}.code")
        if not _CODE.match(code):
            raise ConfigError(f.source, f"{where}.code", f"'{code}' must be capital letters, digits and '-'")
        if code in services:
            raise ConfigError(f.source, f"{where}.code", f"service '{code}' appears twice")
        name = f.text(item, "name", f"{where}.name")
        name_en = str(item.get("name_en") or "").strip()
        capacity = f.mapping(item, "daily_capacity", f"{where}.daily_capacity")
        f.known(capacity, f"{where}.daily_capacity", set(CHANNELS))
        places = {ch: f.integer(capacity, ch, f"{where}.daily_capacity.{ch}", 0, 100_000) for ch in CHANNELS
                  if ch in capacity}
        if not any(places.values()):
            raise ConfigError(f.source, f"{where}.daily_capacity", "gives no place on any channel")
        services[code] = Service(code, name, name_en, places)
    return services


class _Fields:
    """Reads one field at a time, naming the file and the field in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def known(self, data: dict[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(map(str, data)) - allowed)
        if unknown:
            field = f"{where}.{unknown[0]}" if where else unknown[0]
            raise ConfigError(self.source, field, f"unknown setting (expected one of {', '.join(sorted(allowed))})")

    def mapping(self, data: dict[str, Any], key: str, where: str | None = None) -> dict[str, Any]:
        value = data.get(key)
        if not isinstance(value, dict):
            raise ConfigError(self.source, where or key, "is missing or not a mapping")
        return value

    def text(self, data: dict[str, Any], key: str, where: str | None = None) -> str:
        value = data.get(key)
        if not isinstance(value, str | int) or not str(value).strip():
            raise ConfigError(self.source, where or key, "is missing or empty")
        return str(value).strip()

    def integer(self, data: dict[str, Any], key: str, where: str, low: int, high: int) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(self.source, where, f"must be a whole number from {low:,} to {high:,} (got {value!r})")
        if not low <= value <= high:
            raise ConfigError(self.source, where, f"must be from {low:,} to {high:,} (got {value:,})")
        return value

    def number(self, data: dict[str, Any], key: str, where: str, low: float, high: float) -> float:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.source, where, f"must be a number (got {value!r})")
        if not low <= value <= high:
            raise ConfigError(self.source, where, f"{value} is outside Thailand ({low}–{high}): "
                                                  "are latitude and longitude the right way round?")
        return float(value)

    def time(self, value: Any, where: str) -> dt.time:
        # YAML 1.1 reads an unquoted 13:00 as the base-60 number 780: minutes since midnight.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            return dt.time(value // 60, value % 60)
        match = _TIME.match(str(value).strip()) if isinstance(value, str) else None
        if not match:
            raise ConfigError(self.source, where, f"{value!r} is not a time of day as 'HH:MM'")
        return dt.time(int(match.group(1)), int(match.group(2)))


# --- read again while running ------------------------------------------------------------------------

Stamp = tuple[int, int]  # a file's (mtime in ns, size): a save changes one of them


def _stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class _Every:
    """True at most once per ``seconds`` (monotonic): how often a file's time is looked at."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds, self.clock = seconds, clock
        self.last = clock()

    def due(self) -> bool:
        now = self.clock()
        if now - self.last < self.seconds:
            return False
        self.last = now
        return True


class LiveSettings(Mapping[str, QueueSettings]):
    """Every agency's settings as ``load_all`` reads them, read again when a file changes, removed or added.

    The first load is strict (a broken file stops the start, as before). After that, a broken edit never
    takes a running queue down: the agency keeps its last good settings, and the error is logged once with
    the file and the field; a deleted file closes that agency's queue. A process looks at the files' times
    at most every ``every`` seconds, so reading settings costs a clock read on the hot path."""

    def __init__(self, registry: Registry, folder: Path | None = None, every: float = CHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry, self.folder = registry, folder or settings_dir()
        self._lock = threading.Lock()
        self._stamps = self._scan()
        self._by_file = {path: load_file(path, registry) for path in sorted(self._stamps)}
        self._current = self._index()
        self._every = _Every(every, clock)
        self.errors: dict[Path, ConfigError] = {}  # files whose last edit was refused, for a status page

    def _scan(self) -> dict[Path, Stamp]:
        found = {path: _stamp(path) for path in self.folder.glob("*.yaml")}
        return {path: stamp for path, stamp in found.items() if stamp is not None}

    def _index(self) -> dict[str, QueueSettings]:
        return {s.agency: s for _, s in sorted(self._by_file.items())}

    def current(self) -> dict[str, QueueSettings]:
        """The settings now (the same dict object until a file changes: safe to iterate)."""
        if self._every.due():
            self.refresh()
        return self._current

    def refresh(self) -> bool:
        """Look at the files now; True when the settings changed."""
        with self._lock:
            stamps = self._scan()
            if stamps == self._stamps:
                return False
            by_file = dict(self._by_file)
            for path in self._stamps.keys() - stamps.keys():
                by_file.pop(path, None)
                self.errors.pop(path, None)
                log.warning("queue settings %s removed: that agency takes no more bookings", path)
            for path, stamp in sorted(stamps.items()):
                if self._stamps.get(path) == stamp:
                    continue
                try:
                    by_file[path] = load_file(path, self.registry)  # the stamp is from before the read
                except ConfigError as exc:
                    self.errors[path] = exc
                    kept = "the last good settings are kept" if path in by_file else "not loaded"
                    log.error("queue settings not reloaded, %s: %s", kept, exc)
                    continue
                self.errors.pop(path, None)
                log.info("queue settings reloaded from %s", path)
            self._stamps, self._by_file = stamps, by_file
            changed = self._index()
            if changed == self._current:
                return False
            self._current = changed
            return True

    # Mapping, each call on one snapshot
    def __getitem__(self, agency: str) -> QueueSettings:
        return self.current()[agency]

    def __iter__(self) -> Iterator[str]:
        return iter(self.current())

    def __len__(self) -> int:
        return len(self.current())

    def __contains__(self, agency: object) -> bool:
        return agency in self.current()

    def get(self, agency: str, default: Any = None) -> Any:
        return self.current().get(agency, default)

    def items(self) -> ItemsView[str, QueueSettings]:
        return self.current().items()

    def keys(self) -> KeysView[str]:
        return self.current().keys()

    def values(self) -> ValuesView[QueueSettings]:
        return self.current().values()


def calendar_file() -> Path:
    return project_root() / "data" / "calendar" / "thai_government.yaml"


class LiveCalendar:
    """The Thai government calendar, read again when its file changes (a Cabinet-declared day off, an
    agency's closure), checked at most every ``every`` seconds. A broken edit keeps the last good calendar
    and is logged with the file and the entry. ``current()`` is a new ``ThaiCalendar`` after each change,
    so whatever was made from the old one (a queue's slots) can tell it is out of date."""

    def __init__(self, path: Path | None = None, every: float = CHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path or calendar_file()
        self._lock = threading.Lock()
        self._stamp = _stamp(self.path)
        self._calendar = ThaiCalendar.load(self.path)
        self._every = _Every(every, clock)
        self.error: ConfigError | None = None

    def current(self) -> ThaiCalendar:
        if self._every.due():
            self.refresh()
        return self._calendar

    def refresh(self) -> bool:
        with self._lock:
            stamp = _stamp(self.path)
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                self._calendar = ThaiCalendar.load(self.path)
            except ConfigError as exc:
                self.error = exc
                log.error("calendar not reloaded, the last good one is kept: %s", exc)
                return False
            self.error = None
            log.info("calendar reloaded from %s (version %s)", self.path, self._calendar.version)
            return True
