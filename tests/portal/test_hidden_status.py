"""A status change hidden from customers is hidden everywhere a customer looks: the line shows
its last visible status, and the order's header is computed from what the lines show."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders.models import StatusEvent
from orders.services import apply_status_update, status_event_suppress
from portal.models import LinkAudience
from portal.services.links import status_link_issue
from tests.factories import OrderFactory, OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


def _hide_the_exception_of_line_20(showcase, sap, t0):
    line = showcase["20"]
    apply_status_update(line_id=line.pk, status="packed", occurred_at=t0 + timedelta(hours=1), actor=sap)
    apply_status_update(line_id=line.pk, status="exception", occurred_at=t0 + timedelta(hours=2), actor=sap)
    supervisor = UserFactory(username="supervisor")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    event = StatusEvent.objects.get(line=line, to_status="exception")
    status_event_suppress(event_id=event.pk, user=supervisor, reason_code="wrong", reason_text="Duplicate event")


def test_the_portal_shows_the_last_visible_status_of_a_line_whose_change_was_hidden(order, showcase, customer, sap, t0):
    _hide_the_exception_of_line_20(showcase, sap, t0)
    client = Client()
    client.force_login(customer)

    page = client.get(f"/portal/orders/{order.public_id}/").content.decode()
    live = client.get(f"/portal/orders/{order.public_id}/live/").json()

    row = page.split(f'id="line-{showcase["20"].public_id}"')[1].split("</tr>")[0]
    assert 'data-status="packed"' in row and "Ready to ship" in row
    assert re.search(r'id="order-status" data-status="awaiting_part"', page)
    assert "Delayed" not in page and "exception" not in page
    line_20 = next(line for line in live["state"]["lines"] if line["number"] == "20")
    assert (line_20["status"], line_20["label"]) == ("packed", "Ready to ship")
    assert live["state"]["order"]["status"] == "awaiting_part"


def test_a_line_link_of_that_line_shows_the_visible_status_too(order, showcase, sap, t0):
    _hide_the_exception_of_line_20(showcase, sap, t0)
    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER)

    page = Client().get(issued.path).content.decode()

    assert re.search(r'id="order-status" data-status="packed"', page)
    assert "Delayed" not in page


def test_the_order_list_row_says_what_the_order_page_says(order, showcase, customer, sap, t0):
    _hide_the_exception_of_line_20(showcase, sap, t0)
    client = Client()
    client.force_login(customer)

    page = client.get("/portal/").content.decode()

    row = page.split('class="pt-order-row"')[1]
    assert "Delayed" not in row
    assert "Awaiting stock" in row.split('class="pt-status">')[1].split("<")[0]


def _order_with_a_hidden_change(account, sap, t0, number: str) -> None:
    """Another order of the account whose one line's delay was hidden from customers."""
    line = OrderLineFactory(order=OrderFactory(account=account, number=number), number="10", start_occurred_at=t0)
    apply_status_update(line_id=line.pk, status="released", occurred_at=t0 + timedelta(hours=1), actor=sap)
    delayed = apply_status_update(line_id=line.pk, status="exception", occurred_at=t0 + timedelta(hours=2), actor=sap)
    supervisor = UserFactory(username=f"supervisor-{number}")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    status_event_suppress(event_id=delayed.event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")


def test_the_order_list_reads_the_views_of_orders_with_hidden_changes_in_a_fixed_number_of_queries(
    customer, customer_account, sap, t0
):
    # given one order with a hidden change, the list read once (its view built and cached)
    client = Client()
    client.force_login(customer)
    _order_with_a_hidden_change(customer_account, sap, t0, "SO-HIDDEN-1")
    client.get("/portal/")
    with CaptureQueriesContext(connection) as one:
        client.get("/portal/")
    # and three more such orders
    for number in ("SO-HIDDEN-2", "SO-HIDDEN-3", "SO-HIDDEN-4"):
        _order_with_a_hidden_change(customer_account, sap, t0, number)
    client.get("/portal/")

    with CaptureQueriesContext(connection) as four:
        page = client.get("/portal/").content.decode()

    # then each row says what its page says, and the warm list costs the same queries
    assert page.count('class="pt-order-row"') == 4 and "Delayed" not in page
    assert len(four) == len(one)
