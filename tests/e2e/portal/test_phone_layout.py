"""On a 390 px phone in German (the longest labels): the order's parts are cards whose numbers
are labelled (ordered, delivered, ETA), and the status links fit the screen with their buttons
reachable; a technician reads a tracking number whole."""

import pytest

from portal.models import LinkAudience
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db(transaction=True)

LABEL = "(element) => getComputedStyle(element, '::before').content"
# How many lines of the screen the text `number` takes in the element.
LINES_TAKEN = """(element, number) => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(number);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + number.length);
    return new Set(Array.from(range.getClientRects(), (rect) => Math.round(rect.top))).size;
  }
  return 0;
}"""


def test_parts_and_links_on_a_german_phone(new_page, sign_in, order, showcase, customer):
    status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    page = new_page(locale="de-DE", phone=True)
    sign_in(page, "customer", f"/portal/orders/{order.public_id}/")

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
    for name in ("Link ersetzen", "Widerrufen"):
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "laptop"])
def test_the_link_forms_errors_read_across_the_whole_section(new_page, sign_in, order, showcase, customer, phone):
    page = new_page(locale="de-DE", phone=phone)
    sign_in(page, "customer", f"/portal/orders/{order.public_id}/")

    page.fill("#id_line", "99")
    page.get_by_role("button", name="Link erstellen").click()

    errors = page.locator("#link-form-errors")
    section = page.locator("#status-links").bounding_box()
    box = errors.bounding_box()
    assert errors.get_attribute("role") == "alert"
    assert "Position: Dieser Auftrag hat keine Position 99." in errors.inner_text()
    assert box["width"] >= section["width"] - 2  # the section's whole width, not one of the form's columns
    assert box["y"] + box["height"] <= page.locator("#link-form").bounding_box()["y"]  # above the form
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_a_technician_on_a_phone_reads_the_tracking_number_unbroken(new_page, sign_in, order, showcase, technician):
    # given line 10.1 shipped with UPS, tracking number 1Z999AA10123456784
    line = showcase["10.1"]
    page = new_page(locale="de-DE", phone=True)

    sign_in(page, "technician", f"/tech/parts/{line.public_id}/")

    # then its carrier cell shows the tracking number on one line, on the screen
    carrier = page.locator(f"#line-{line.public_id} .line-carrier")
    assert "1Z999AA10123456784" in carrier.inner_text()
    assert carrier.evaluate(LINES_TAKEN, "1Z999AA10123456784") == 1
    box = carrier.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
