"""Real-browser tests: Playwright (sync API) driving the system's headless Chromium against
pytest-django's live_server, or the ASGI server (`server`) where websockets count. Skipped when
the browser or Playwright is missing, unless REQUIRE_BROWSER_TESTS=1 (CI), where that is a failure."""

import contextlib
import importlib.util
import os
from pathlib import Path

import pytest

# The notifications' real SMTP server, Twilio fake and shipped rules, for messages seen end to end.
from tests.e2e.asgi_server import AsgiServer
from tests.notifications.conftest import contact_for, mailbox, rules, twilio  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's
# A phone in portrait: 390 CSS pixels wide, touch, a dense screen.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def _missing() -> str:
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the playwright package (requirements-dev.txt)"
    if not CHROMIUM.exists():
        return f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    return ""


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module, stopped before other modules' tests run (see below)."""
    missing = _missing()
    if missing:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    # While Playwright's sync API runs, this thread has an asyncio loop, which Django's ORM takes
    # for an async context; the test's own ORM calls are plain synchronous code all the same.
    # Both the loop and the permission end with the module, so no other test runs under them.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in_at(page, base_url: str, login_path: str, username: str, next_path: str) -> None:
    """Sign `page` in as `username` on the login page at `login_path`, and wait until it lands on `next_path`."""
    page.goto(f"{base_url}{login_path}?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")


@pytest.fixture
def log_in(page, live_server):
    """Log in through the back-office login page, landing on `next`."""

    def log_in(username: str, next_path: str) -> None:
        sign_in_at(page, live_server.url, "/backoffice/login/", username, next_path)

    return log_in


@pytest.fixture
def server(browser, settings):
    """The site over ASGI (HTTP and websockets, tests/e2e/asgi_server.py) on the test database."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    running = AsgiServer().start()
    yield running
    running.stop()


@pytest.fixture
def new_page(browser):
    """Open a page in a browser context of its own (its own cookies, caches and service worker),
    in `locale`; `phone=True` for a phone (PHONE), other options as Playwright's new_context
    takes them. Every context opened is closed after the test, whether it passed or not."""
    from playwright.sync_api import Error

    contexts = []

    def new_page(*, locale: str = "en-GB", phone: bool = False, **options):
        context = browser.new_context(locale=locale, **(PHONE if phone else {}), **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield new_page
    for context in contexts:
        with contextlib.suppress(Error):  # a test may have closed it already
            context.close()
