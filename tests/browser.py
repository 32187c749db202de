"""What the browser tests share. Debian's Chromium is the ``browser`` fixture and the app runs under a real
uvicorn server by the ``serve`` fixture (both in conftest.py); here: a page in a fresh browser context,
signing a demo account in through the login form, axe-core (tests/vendor/axe.min.js) finding no serious or
critical violation, screenshots kept in the test's tmp folder and copied to var/screenshots/ for people to
look at, and whether a page fits its screen."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from delayhub.web.accounts import DEMO_PASSWORDS, Role

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
LOGIN_FORM = {"th": ("ชื่อผู้ใช้", "รหัสผ่าน", "เข้าสู่ระบบ"), "en": ("Username", "Password", "Sign in")}


@contextmanager
def new_page(browser: Any, *, keep_csp: bool = False, **options: Any) -> Iterator[Any]:
    """A page in a browser context of its own (its own cookies), on a desktop screen unless ``options`` (those
    of ``browser.new_context``) say otherwise; the context is closed afterwards (``page.context``). The pages
    allow scripts from the site only: axe-core is injected by the test, so the context bypasses that CSP
    unless ``keep_csp`` (the page then runs exactly as the site serves it)."""
    context = browser.new_context(bypass_csp=not keep_csp, accept_downloads=True, **{"viewport": DESKTOP, **options})
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, site: str, username: str, role: Role, path: str = "/lateness", *, lang: str | None = None,
            lands_on: str | None = None) -> None:
    """Open ``path`` signed out (in ``lang``, if given), which leads to the login form, and sign the demo account
    ``username`` in with ``role``'s demo password; waits until the browser is back on ``path`` (or on
    ``lands_on``: where the form leads when opened itself, /login leading to /lateness)."""
    username_label, password_label, button = LOGIN_FORM[lang or "th"]
    page.goto(f"{site}{path}" + (f"?lang={lang}" if lang else ""))
    page.get_by_label(username_label).fill(username)
    page.get_by_label(password_label).fill(DEMO_PASSWORDS[role])
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(re.escape(site + (lands_on or path)) + (r"(\?.*)?$" if lang else "$")))


def axe_check(page: Any, name: str) -> None:
    """No serious or critical accessibility violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


def shot(page: Any, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot, ``name``.png in the test's tmp folder and a copy in var/screenshots/."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENSHOTS / path.name)
    return path


def fits_the_screen(page: Any) -> bool:
    """Nothing on the page is wider than the screen (no sideways scrolling of the page itself)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def scrolls_sideways(element: Any) -> bool:
    """The element (a wide table's region) scrolls sideways by itself."""
    return element.evaluate("el => el.scrollWidth > el.clientWidth")
