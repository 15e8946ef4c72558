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
from django.contrib.auth.models import Permission

from orders.read_models.header import leaves_expected
from orders.services import Actor, apply_status_update
from orders.services.shipments import ShipmentData, shipment_track
from orders.services.status import line_status_override
from orders.services.suppression import status_event_suppress
from portal.consumers import PortalOrderConsumer
from tests.factories import UserFactory
from tests.portal.fixtures import etas_planned, order_and_list_pages, signed_in

pytestmark = pytest.mark.django_db


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


def test_with_every_part_dated_the_order_is_expected_complete_by_the_latest(order, showcase, customer, t0):
    # given every line still to come has an ETA (line 30, delivered, kept an old one)
    etas_planned(order, showcase, t0, **{"10_1": 2, "10_2": 5, "20": 3, "30": 1})

    page, listing = order_and_list_pages(signed_in(customer), order)
    german, german_listing = order_and_list_pages(signed_in(customer, "de"), order)

    assert _header(page) == "Expected complete 7 Nov 2026, 08:00 UTC, next part 4 Nov 2026, 08:00 UTC"
    assert _listed(listing) == _header(page)  # the list says it with the times, as the order's page
    assert _header(german) == (
        "Voraussichtlich vollständig: 7. November 2026 08:00 UTC, nächstes Teil: 4. November 2026 08:00 UTC"
    )
    assert _listed(german_listing) == _header(german)


def test_a_part_without_an_eta_leaves_the_completion_date_open(order, showcase, customer, t0):
    # given line 10.2 (awaiting stock) has no ETA yet
    etas_planned(order, showcase, t0, **{"10_1": 2, "20": 3})

    page, listing = order_and_list_pages(signed_in(customer), order)

    assert _header(page) == (
        "No completion date yet: some parts have no delivery date; next part 4 Nov 2026, 08:00 UTC"
    )
    assert _listed(listing) == _header(page)


def test_the_list_row_says_what_the_header_says_when_the_carrier_has_its_own_eta(order, showcase, customer, t0):
    # given line 10.1 was planned for the 8th, but its carrier now says the 4th
    etas_planned(order, showcase, t0, **{"10_1": 6, "10_2": 5, "20": 3})
    shipment_track(shipment_id=order.shipments.get().pk, data=ShipmentData(eta=t0 + timedelta(days=2)), occurred_at=t0)

    page, listing = order_and_list_pages(signed_in(customer), order)

    assert _header(page) == "Expected complete 7 Nov 2026, 08:00 UTC, next part 4 Nov 2026, 08:00 UTC"
    assert _listed(listing) == _header(page)  # the list says it with the times, as the order's page


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
    # given line 30 (delivered, its ETA kept) was confirmed on site by the technician a day later
    etas_planned(order, showcase, t0, **{"30": 1})
    confirmed = t0 + timedelta(days=1, minutes=5)
    apply_status_update(line_id=showcase["30"].pk, status="verified", occurred_at=confirmed, actor=sap)

    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    parts = signed_in(technician).get("/tech/").content.decode()
    live = signed_in(customer).get(f"/portal/orders/{order.public_id}/live/").json()

    # then it shows when it was received on site, by the source's clock, and no ETA
    row = _row(page, showcase["30"])
    assert _cell(row, "line-eta") == ""
    assert _cell(row, "line-delivered") == "6 · 3 Nov 2026, 08:05 UTC"
    assert f'<time datetime="{confirmed.isoformat()}">' in row
    listed = re.search(rf'id="part-{showcase["30"].public_id}".*?</li>', parts, re.S).group(0)
    assert "Delivered 3 Nov 2026, 08:05 UTC" in _text(listed) and "ETA" not in listed
    line = next(line for line in live["state"]["lines"] if line["number"] == "30")
    assert (line["eta"], line["delivered_at"]) == (None, confirmed.isoformat())


def test_a_delivered_part_is_listed_where_it_is_now_not_at_the_depot_it_left(order, showcase, technician, sap, t0):
    # given the equipment's location is known; line 10.1 (shipped from its site, last scanned at
    # the Venlo hub) was delivered, and line 30 (no shipment recorded) too
    order.asset.location = "Quarry Nord, crusher 2"
    order.asset.save()
    apply_status_update(line_id=showcase["10.1"].pk, status="delivered", occurred_at=t0 + timedelta(hours=3), actor=sap)
    line_10_2, line_30 = showcase["10.2"], showcase["30"]
    shipping_site = line_30.site.name

    parts = signed_in(technician).get("/tech/").content.decode()

    # then each delivered part says it is on site, by the equipment's location, not at the depot
    delivered = [_text(_listed_part(parts, line)) for line in (showcase["10.1"], line_30)]
    for listed in delivered:
        assert "Delivered " in listed and "On site: Quarry Nord, crusher 2" in listed
        assert "Venlo hub" not in listed and shipping_site not in listed and "Last seen" not in listed
    # and a part still to come says where it is; in German, the place is "Vor Ort"
    assert line_10_2.site.name in _text(_listed_part(parts, line_10_2))
    german = signed_in(technician, "de").get("/tech/").content.decode()
    assert "Vor Ort: Quarry Nord, crusher 2" in _text(_listed_part(german, line_30))

    # when the equipment's location is not known, a delivered part names no place at all
    order.asset.location = ""
    order.asset.save()
    listed = _text(_listed_part(signed_in(technician).get("/tech/").content.decode(), line_30))
    assert "Delivered " in listed and shipping_site not in listed and "On site" not in listed


def _listed_part(parts: str, line) -> str:
    return re.search(rf'id="part-{line.public_id}".*?</li>', parts, re.S).group(0)


@pytest.mark.parametrize("arrival", ["in source order", "the later scan first"])
def test_a_parts_arrival_time_is_the_same_whatever_order_the_scans_came_in(
    order, showcase, customer, technician, sap, t0, arrival
):
    # given the carrier scanned line 10.1 delivered twice, at 9:10 and 9:20 by its own clock, and
    # the customer's page was read (and cached) between the two scans reaching us
    line, client = showcase["10.1"], signed_in(customer)
    scans = [t0 + timedelta(hours=1, minutes=10), t0 + timedelta(hours=1, minutes=20)]
    if arrival == "the later scan first":
        scans.reverse()
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=scans[0], actor=sap)
    client.get(f"/portal/orders/{order.public_id}/")

    # when the other scan arrives
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=scans[1], actor=sap)

    # then the page (not a cached copy) and the technician's parts say it arrived at 9:10
    page = client.get(f"/portal/orders/{order.public_id}/").content.decode()
    assert _cell(_row(page, line), "line-delivered") == "3 · 2 Nov 2026, 09:10 UTC"
    parts = signed_in(technician).get("/tech/").content.decode()
    listed = re.search(rf'id="part-{line.public_id}".*?</li>', parts, re.S).group(0)
    assert "Delivered 2 Nov 2026, 09:10 UTC" in _text(listed)


def test_a_hidden_scans_time_is_never_shown(order, showcase, customer, technician, sap, t0):
    # given line 10.1 was delivered at 11:00, then a scan of 9:10 arrived late, and a supervisor
    # hid that scan from customers (posted on the wrong line)
    line = showcase["10.1"]
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=t0 + timedelta(hours=3), actor=sap)
    late = apply_status_update(
        line_id=line.pk, status="delivered", occurred_at=t0 + timedelta(hours=1, minutes=10), actor=sap
    )
    supervisor = UserFactory(username="supervisor-hides")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    status_event_suppress(event_id=late.event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")

    # then the page and the technician's parts show the visible delivery's time
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    assert _cell(_row(page, line), "line-delivered") == "3 · 2 Nov 2026, 11:00 UTC"
    parts = signed_in(technician).get("/tech/").content.decode()
    listed = re.search(rf'id="part-{line.public_id}".*?</li>', parts, re.S).group(0)
    assert "Delivered 2 Nov 2026, 11:00 UTC" in _text(listed) and "9:10" not in listed


def test_a_carriers_earlier_scan_outweighs_a_supervisors_click(order, showcase, customer, supervisor, sap, t0):
    # given a supervisor marked line 10.1 delivered (at the moment of their click, today)
    line = showcase["10.1"]
    line_status_override(
        line_id=line.pk,
        status="delivered",
        actor=Actor.person(supervisor),
        reason_code="wrong_goods_issue",
        reason_text="The customer phoned: the part is on site.",
    )

    # when the carrier's delivery scan of a month earlier (by its clock) arrives
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=t0 + timedelta(hours=2), actor=sap)

    # then the page says the part arrived when the carrier delivered it
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    assert _cell(_row(page, line), "line-delivered") == "3 · 2 Nov 2026, 10:00 UTC"


@pytest.mark.django_db(transaction=True)
def test_a_pushed_delivery_carries_when_it_arrived_and_no_eta(order, showcase, customer, sap, t0):
    # given a customer's page follows the order; line 10.1 (in transit) has an ETA
    etas_planned(order, showcase, t0, **{"10_1": 2, "10_2": 5, "20": 3})
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
