"""A status link for one line says nothing about the order's other lines: its status, expected
date, progress and summary are those of its line (and the lines split from it), on the page, in
the polling fallback and over the websocket."""

import re
from datetime import timedelta

import pytest
from django.test import Client

from orders.services import apply_status_update
from portal.models import LinkAudience, LinkPurpose
from portal.services.links import status_link_issue
from tests.factories import OrderLineFactory
from tests.portal.test_live import line_link_follows


def _hold_line_20(showcase, sap, t0):
    apply_status_update(line_id=showcase["20"].pk, status="on_hold", occurred_at=t0 + timedelta(hours=1), actor=sap)


def _header(page: str) -> tuple[str, str, str]:
    status = re.search(r'id="order-status" data-status="([a-z_]+)"', page).group(1)
    progress = re.search(r'aria-valuenow="(\d+)" id="order-progress"', page).group(1)
    summary = re.search(r'id="order-summary">([^<]*)<', page).group(1)
    return status, progress, summary


@pytest.mark.django_db
def test_a_line_link_page_shows_its_lines_status_progress_and_summary_only(order, showcase, sap, t0):
    _hold_line_20(showcase, sap, t0)
    issued = status_link_issue(order=order, line=showcase["30"], audience=LinkAudience.CUSTOMER)

    page = Client().get(issued.path).content.decode()

    assert _header(page) == ("delivered", "100", "1 of 1 line shipped")
    assert "On hold" not in page


@pytest.mark.django_db
def test_a_technician_line_link_and_its_polling_fallback_show_the_lines_own_header(order, showcase, sap, t0):
    _hold_line_20(showcase, sap, t0)
    issued = status_link_issue(
        order=order, line=showcase["10"], audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM
    )

    page = Client().get(issued.path).content.decode()
    live = Client().get(issued.path + "live/").json()

    # 10.1 in transit (3 pieces), 10.2 awaiting stock (1): the least advanced of the two
    assert _header(page)[0] == "awaiting_part"
    assert _header(page)[2] == "1 of 2 lines shipped · Awaiting stock: 1"
    assert live["state"]["order"]["status"] == "awaiting_part"
    assert live["state"]["order"]["progress"] == pytest.approx((3 * 80 + 1 * 5) / 4)
    assert "on_hold" not in str(live)


@pytest.mark.django_db
def test_the_technicians_part_page_shows_the_parts_own_status(order, showcase, technician, sap, t0):
    _hold_line_20(showcase, sap, t0)
    client = Client()
    client.force_login(technician)

    page = client.get(f"/tech/parts/{showcase['30'].public_id}/").content.decode()

    assert _header(page)[0] == "delivered"


@pytest.mark.django_db(transaction=True)
def test_a_line_link_is_pushed_its_own_header_and_nothing_of_other_lines(order, showcase, sap, t0):
    issued = status_link_issue(order=order, line=showcase["10"], audience=LinkAudience.CUSTOMER)

    state, other_line_change, own = line_link_follows(
        issued.path,
        other_line_changes=lambda: _hold_line_20(showcase, sap, t0),
        own_line_changes=lambda: apply_status_update(
            line_id=showcase["10.2"].pk, status="allocated", occurred_at=t0 + timedelta(hours=3), actor=sap
        ),
    )

    assert state["state"]["order"]["status"] == "awaiting_part"
    assert state["state"]["summary"] == "1 of 2 lines shipped · Awaiting stock: 1"
    assert other_line_change is True
    assert own["order"]["status"] == "allocated"
    assert own["order"]["label"] == "Reserved for you"
    assert own["summary"] == "1 of 2 lines shipped · Reserved for you: 1"
    assert {line["number"] for line in own["lines"]} == {"10", "10.2"}


@pytest.mark.django_db
def test_the_portal_issues_a_link_for_one_line_by_its_printed_number(order, showcase, customer):
    client = Client()
    client.force_login(customer)
    url = f"/portal/orders/{order.public_id}/"

    response = client.post(url, {"audience": "customer", "purpose": "view", "line": "10.1"})

    assert response.status_code == 302
    shown = client.get(response["Location"]).content.decode()
    new_link = shown.split('id="new-link" readonly value="')[1].split('"')[0]
    page = Client().get(new_link.replace("http://testserver", "")).content.decode()
    assert re.findall(r'<td class="line-number"[^>]*>([^<]*)</td>', page) == ["10.1"]


@pytest.mark.django_db
def test_a_line_the_order_does_not_have_is_refused_naming_the_field(order, showcase, customer):
    other = OrderLineFactory(number="77")
    client = Client()
    client.force_login(customer)
    url = f"/portal/orders/{order.public_id}/"

    for value in ("99", other.number):
        response = client.post(url, {"audience": "customer", "purpose": "view", "line": value})
        assert response.status_code == 400
        assert "This order has no line" in response.content.decode()
