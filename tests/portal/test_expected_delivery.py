"""When a customer's parts come, as the order's header, its row in the list and the technician's
parts say it: completion is promised (by the latest ETA) only when every part still to come has
an ETA, the next part by the earliest; a part at its destination shows when it arrived there
(the source's time) and never an ETA, on the page, in the polling answer and in what the
websocket pushes."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from orders.models import StatusEvent
from orders.read_models.freshness import views_changed
from orders.read_models.header import leaves_expected
from orders.services import apply_status_update
from orders.services.shipments import ShipmentData, shipment_track
from portal.consumers import PortalOrderConsumer
from tests.portal.fixtures import order_and_list_pages, signed_in

pytestmark = pytest.mark.django_db


def _planned(order, showcase, t0, **days_by_line):
    """ETAs set on lines as a planner does in the admin ({"10_1": 2}: line 10.1 in two days)."""
    for number, days in days_by_line.items():
        line = showcase[number.replace("_", ".")]
        line.eta = t0 + timedelta(days=days)
        line.save(update_fields=["eta"])
    views_changed(order.pk)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip()


def _header(page: str) -> str:
    return _text(re.search(r'<dd id="order-eta"[^>]*>(.*?)</dd>', page, re.S).group(1))


def _listed(listing: str) -> str:
    return _text(re.search(r'<span class="pt-expected"[^>]*>(.*?)</span></p>', listing, re.S).group(1))


def _row(page: str, line) -> str:
    return re.search(rf'<tr id="line-{line.public_id}".*?</tr>', page, re.S).group(0)


def _cell(row: str, name: str) -> str:
    return _text(re.search(rf'<td class="{name}"[^>]*>(.*?)</td>', row, re.S).group(1))


def _delivered_at(line):
    return StatusEvent.objects.get(line=line, to_status="delivered").occurred_at


def test_with_every_part_dated_the_order_is_expected_complete_by_the_latest(order, showcase, customer, t0):
    # given every line still to come has an ETA (line 30, delivered, kept an old one)
    _planned(order, showcase, t0, **{"10_1": 2, "10_2": 5, "20": 3, "30": 1})

    page, listing = order_and_list_pages(signed_in(customer), order)
    german, _ = order_and_list_pages(signed_in(customer, "de"), order)

    assert _header(page) == "Expected complete Nov. 7, 2026, 8 a.m. UTC, next part Nov. 4, 2026, 8 a.m. UTC"
    assert _listed(listing) == "Expected complete Nov. 7, 2026 UTC, next part Nov. 4, 2026 UTC"
    assert _header(german) == (
        "Voraussichtlich vollständig: 7. November 2026 08:00 UTC, nächstes Teil: 4. November 2026 08:00 UTC"
    )


def test_a_part_without_an_eta_leaves_the_completion_date_open(order, showcase, customer, t0):
    # given line 10.2 (awaiting stock) has no ETA yet
    _planned(order, showcase, t0, **{"10_1": 2, "20": 3})

    page, listing = order_and_list_pages(signed_in(customer), order)

    assert _header(page) == (
        "No completion date yet: some parts have no delivery date; next part Nov. 4, 2026, 8 a.m. UTC"
    )
    assert _listed(listing) == "No completion date yet: some parts have no delivery date; next part Nov. 4, 2026 UTC"


def test_the_list_row_says_what_the_header_says_when_the_carrier_has_its_own_eta(order, showcase, customer, t0):
    # given line 10.1 was planned for the 8th, but its carrier now says the 4th
    _planned(order, showcase, t0, **{"10_1": 6, "10_2": 5, "20": 3})
    shipment_track(shipment_id=order.shipments.get().pk, data=ShipmentData(eta=t0 + timedelta(days=2)), occurred_at=t0)

    page, listing = order_and_list_pages(signed_in(customer), order)

    assert _header(page) == "Expected complete Nov. 7, 2026, 8 a.m. UTC, next part Nov. 4, 2026, 8 a.m. UTC"
    assert _listed(listing) == "Expected complete Nov. 7, 2026 UTC, next part Nov. 4, 2026 UTC"


@pytest.mark.parametrize(
    ("statuses", "etas", "expected"),
    [
        (["in_transit", "delivered"], ["2026-11-04T08:00:00+00:00", None], "complete"),
        (["in_transit", "picking"], ["2026-11-04T08:00:00+00:00", None], "not_known"),
        (["delivered", "verified", "cancelled"], [None, None, None], "delivered"),
        (["cancelled", "returned"], [None, None], ""),
    ],
)
def test_what_the_header_expects_of_the_lines_still_to_come(statuses, etas, expected):
    leaves = [{"status": status, "eta": eta} for status, eta in zip(statuses, etas, strict=True)]

    assert leaves_expected(leaves)["expected"] == expected


def test_a_part_on_site_shows_when_it_arrived_and_no_eta(order, showcase, customer, technician, sap, t0):
    # given line 30 was delivered, then confirmed on site by the technician a day later; its ETA stayed
    _planned(order, showcase, t0, **{"30": 1})
    apply_status_update(line_id=showcase["30"].pk, status="verified", occurred_at=t0 + timedelta(days=1), actor=sap)
    arrived = _delivered_at(showcase["30"])

    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    parts = signed_in(technician).get("/tech/").content.decode()
    live = signed_in(customer).get(f"/portal/orders/{order.public_id}/live/").json()

    row = _row(page, showcase["30"])
    assert _cell(row, "line-eta") == ""
    assert _cell(row, "line-delivered") == "6 · Nov. 2, 2026, 8:12 a.m. UTC"  # delivered, not confirmed
    assert f'<time datetime="{arrived.isoformat()}">' in row
    listed = re.search(rf'id="part-{showcase["30"].public_id}".*?</li>', parts, re.S).group(0)
    assert "Delivered Nov. 2, 2026, 8:12 a.m. UTC" in _text(listed) and "ETA" not in listed
    line = next(line for line in live["state"]["lines"] if line["number"] == "30")
    assert (line["eta"], line["delivered_at"]) == (None, arrived.isoformat())


@pytest.mark.django_db(transaction=True)
def test_a_pushed_delivery_carries_when_it_arrived_and_no_eta(order, showcase, customer, sap, t0):
    # given a customer's page follows the order; line 10.1 (in transit) has an ETA
    _planned(order, showcase, t0, **{"10_1": 2, "10_2": 5, "20": 3})
    order.refresh_from_db()
    delivered_at = t0 + timedelta(days=1, hours=2)

    async def follow():
        communicator = WebsocketCommunicator(
            PortalOrderConsumer.as_asgi(), f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}"
        )
        communicator.scope["user"] = customer
        communicator.scope["url_route"] = {"kwargs": {"public_id": order.public_id}}
        assert (await communicator.connect())[0]
        # when the carrier reports line 10.1 delivered
        await database_sync_to_async(apply_status_update)(
            line_id=showcase["10.1"].pk, status="delivered", occurred_at=delivered_at, actor=sap
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    # then the push says when it arrived, as the page writes times, and no ETA
    pushed = next(line for line in message["lines"] if line["number"] == "10.1")
    assert pushed["status"] == "delivered"
    assert pushed["eta"] is None and "eta_text" not in pushed
    assert pushed["delivered_at"] == delivered_at.isoformat()
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    assert _cell(_row(page, showcase["10.1"]), "line-delivered") == f"3 · {pushed['delivered_at_text']}"
    # and the header expects what is still to come: 10.2 and 20
    assert message["order"]["expected"] == "complete"
    assert message["order"]["earliest_eta"] == (t0 + timedelta(days=3)).isoformat()
    assert message["order"]["latest_eta_text"] in _header(page)
