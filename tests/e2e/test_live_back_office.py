"""In a real browser over ASGI: the back office's pages follow one websocket each. A stale alert
opening while the queue is open appears in it without a reload; a planner typing how a case was
resolved keeps what she typed while the page refreshes around her, and the case catches up once
she is done."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from guardian.shortcuts import assign_perm

from orders.services import apply_status_update
from overrides.models import StaleStatusRule
from overrides.services.alerts import stale_alerts_scan
from overrides.services.discrepancies import discrepancy_open_for_contested_override, discrepancy_take
from tests.e2e.asgi_server import AsgiServer
from tests.e2e.conftest import PASSWORD
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(live_server):
    """The site over ASGI (HTTP + websockets), on the test database."""
    server = AsgiServer().start()
    yield server.url
    server.stop()


def _member(role: str, region, username: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


def _elsewhere(work) -> None:
    """Do `work` as another process of the site would: in a thread of its own (this one runs the
    browser's event loop, where the channel layer cannot be reached synchronously)."""
    failures = []

    def run() -> None:
        try:
            work()
        except Exception as error:  # noqa: BLE001  (handed back to the test to fail on)
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and not failures, failures


def _signed_in(browser, url: str, username: str, next_path: str):
    context = browser.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{url}/backoffice/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}{next_path}")
    return context, page


def test_a_stale_alert_appears_in_the_open_queue_without_a_reload(browser, site, advance):
    from playwright.sync_api import expect

    # given a planner of EMEA looking at her empty queue, and a line allocated for hours there
    emea = RegionFactory(code="emea", name="EMEA")
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "allocated")
    _member("planner", emea, "planner-emea")
    context, page = _signed_in(browser, site, "planner-emea", "/backoffice/")
    expect(page.locator("body")).to_have_attribute("data-live-transport", "websocket")
    expect(page.locator("#queue-table")).to_contain_text("Nothing to work on here.")
    page.evaluate("window.notReloaded = true")

    # when the scan opens an alert on the line
    _elsewhere(stale_alerts_scan)

    # then the queue shows it, without a reload
    expect(page.locator("#exception-queue")).to_contain_text(line.order.number)
    assert page.evaluate("window.notReloaded") is True
    context.close()


def test_typing_in_a_case_survives_a_live_refresh_and_the_case_catches_up_after(browser, site, advance, sap, t0):
    from playwright.sync_api import expect

    # given a packed line with an open discrepancy, and a planner on the line's page typing how
    # it was resolved
    emea = RegionFactory(code="emea", name="EMEA")
    line = OrderLineFactory(order__account__region=emea)
    advance(line, "packed")
    case = discrepancy_open_for_contested_override(
        line_id=line.pk, event_id=line.events.last().pk, held_status="shipped"
    )
    _member("planner", emea, "planner-emea")
    supervisor = _member("supervisor", emea, "supervisor")
    context, page = _signed_in(browser, site, "planner-emea", f"/backoffice/lines/{line.pk}/")
    expect(page.locator("body")).to_have_attribute("data-live-transport", "websocket")
    page.evaluate("window.notReloaded = true")
    resolution = page.locator("#line-cases input[name=resolution]")
    resolution.fill("Called the depot: the part is on the shelf")

    # when the warehouse ships the line and a supervisor takes the case meanwhile
    _elsewhere(
        lambda: apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)
    )
    _elsewhere(lambda: discrepancy_take(discrepancy_id=case.pk, user=supervisor))

    # then the line's status changes on the page, and what she typed is still there
    expect(page.locator("#line-status")).to_have_text("Shipped")
    expect(resolution).to_have_value("Called the depot: the part is on the shelf")
    expect(page.locator("#line-cases")).to_contain_text("nobody yet")

    # when she clears the field and leaves it
    resolution.fill("")
    page.locator("h1").click()

    # then the case catches up: the supervisor owns it now
    expect(page.locator("#line-cases")).to_contain_text("supervisor", timeout=20_000)
    assert page.evaluate("window.notReloaded") is True
    context.close()
