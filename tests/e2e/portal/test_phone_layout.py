"""On a 390 px phone in German (the longest labels): the order's parts are cards whose numbers
are labelled (ordered, delivered, ETA), and the status links fit the screen with their buttons
reachable."""

import pytest

from portal.models import LinkAudience
from portal.services.links import status_link_issue
from tests.e2e.asgi_server import AsgiServer
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
LABEL = "(element) => getComputedStyle(element, '::before').content"


@pytest.fixture
def server(browser, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    running = AsgiServer().start()
    yield running
    running.stop()


def test_parts_and_links_on_a_german_phone(browser, server, order, showcase, customer):
    status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    context = browser.new_context(locale="de-DE", **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    path = f"/portal/orders/{order.public_id}/"
    page.goto(f"{server.url}/portal/login/?next={path}")
    page.fill("#id_username", "customer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server.url}{path}")

    # the page does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # every number of a part says what it is
    row = page.locator(f"#line-{showcase['10.1'].public_id}")
    assert row.locator(".line-quantity").evaluate(LABEL) == '"Menge"'
    assert row.locator(".line-delivered").evaluate(LABEL) == '"Zugestellt"'
    assert row.locator(".line-eta").evaluate(LABEL) not in ("none", "normal", '""')
    # the status's explanation is written out (a phone has no hover for its tooltip)
    status = row.locator(".line-status")
    assert len(status.get_attribute("title")) > 10
    assert (
        status.evaluate("(element) => getComputedStyle(element, '::after').content")
        == f'"{status.get_attribute("title")}"'
    )
    # and the cards line up: each part number starts at the same x
    lefts = {
        round(page.locator(f"#line-{showcase[number].public_id} .line-part").bounding_box()["x"])
        for number in ("20", "30")
    }
    assert len(lefts) == 1

    # the link's buttons are on the screen
    for name in ("Neues Token", "Entziehen"):
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
    context.close()
