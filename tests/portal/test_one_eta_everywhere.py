"""One line, one ETA: the customer's order page, the technician's list and part page, the live
answers and the back office show the same ETA for a line (none once it is cancelled or at its
destination; the carrier's once it has shipped; else the planned one); a shipment whose parts
are all delivered shows its delivery instead of an ETA; a part that arrived without a shipment
record says so; the technician's list names a part's status as the customer page does."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import ContactRole, OrderContact, StatusEvent
from orders.services import apply_status_update
from orders.services.shipments import ShipmentData, shipment_record, shipment_track
from orders.services.suppression import status_event_suppress
from portal.consumers import PortalOrderConsumer
from tests.factories import OrderFactory, OrderLineFactory, UserFactory
from tests.portal.fixtures import etas_planned, signed_in

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def _row(page: str, line) -> str:
    return re.search(rf'<tr id="line-{line.public_id}".*?</tr>', page, re.S).group(0)


def _cell(row: str, name: str) -> str:
    return _text(re.search(rf'<td class="{name}"[^>]*>(.*?)</td>', row, re.S).group(1))


def _listed(parts_page: str, line) -> str:
    return _text(re.search(rf'id="part-{line.public_id}".*?</li>', parts_page, re.S).group(0))


def _shipments(page: str) -> str:
    return _text(re.search(r'<div id="shipments".*?</div>', page, re.S).group(0))


def _pages(order, line, customer, technician) -> dict:
    """What the customer's order page, its polling answer, the technician's list, the line's part
    page and its polling answer show of `line`."""
    order_url, part_url = f"/portal/orders/{order.public_id}/", f"/tech/parts/{line.public_id}/"
    tech = signed_in(technician)
    return {
        "page": signed_in(customer).get(order_url).content.decode(),
        "live": signed_in(customer).get(f"{order_url}live/").json(),
        "parts": tech.get("/tech/").content.decode(),
        "part": tech.get(part_url).content.decode(),
        "part_live": tech.get(f"{part_url}live/").json(),
    }


def _live_line(answer: dict, line) -> dict:
    return next(item for item in answer["state"]["lines"] if item["public_id"] == str(line.public_id))


def _back_office_row(page: str, line) -> str:
    return re.search(rf'<tr class="order-line[^"]*" id="line-{line.pk}".*?</tr>', page, re.S).group(0)


def _fact(page: str, term: str) -> str:
    return _text(re.search(rf"<dt>{term}</dt><dd[^>]*>(.*?)</dd>", page, re.S).group(1))


def _back_office_cell(row: str, name: str) -> str:
    return _text(re.search(rf'<td class="{name}"[^>]*>(.*?)</td>', row, re.S).group(1))


def test_a_shipped_part_shows_the_carriers_eta_on_every_page(order, showcase, customer, technician, viewer, t0):
    # given line 10.1 was planned for the 8th, and its carrier now says the 4th
    line = showcase["10.1"]
    etas_planned(order, showcase, t0, **{"10_1": 6})
    shipment_track(shipment_id=order.shipments.get().pk, data=ShipmentData(eta=t0 + timedelta(days=2)), occurred_at=t0)

    shown = _pages(order, line, customer, technician)
    back_office = signed_in(viewer).get(f"/backoffice/orders/{order.pk}/").content.decode()
    line_page = signed_in(viewer).get(f"/backoffice/lines/{line.pk}/").content.decode()

    # then the customer, the technician and the live answers all say the 4th
    carriers = (t0 + timedelta(days=2)).isoformat()
    assert _cell(_row(shown["page"], line), "line-eta") == "4 Nov 2026, 08:00 UTC"
    assert _cell(_row(shown["part"], line), "line-eta") == "4 Nov 2026, 08:00 UTC"
    assert "ETA 4 Nov 2026, 08:00 UTC" in _listed(shown["parts"], line)
    assert "8 Nov" not in _listed(shown["parts"], line)
    assert _live_line(shown["live"], line)["eta"] == _live_line(shown["part_live"], line)["eta"] == carriers
    # and the back office shows the planned ETA as such, beside the one the customer sees
    row = _back_office_row(back_office, line)
    assert "Planned ETA" in back_office and "ETA the customer sees" in back_office
    assert _back_office_cell(row, "line-planned-eta") == "8 Nov 2026, 08:00 UTC"
    assert _back_office_cell(row, "line-customer-eta") == "4 Nov 2026, 08:00 UTC"
    assert _fact(line_page, "Planned ETA") == "8 Nov 2026, 08:00 UTC"
    assert _fact(line_page, "ETA the customer sees") == "4 Nov 2026, 08:00 UTC"


def test_a_cancelled_line_shows_no_eta_anywhere(order, showcase, customer, technician, viewer, sap, t0):
    # given line 20 was planned for the 5th, then cancelled
    line = showcase["20"]
    etas_planned(order, showcase, t0, **{"20": 3})
    apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0 + timedelta(hours=2), actor=sap)

    shown = _pages(order, line, customer, technician)
    back_office = signed_in(viewer).get(f"/backoffice/orders/{order.pk}/").content.decode()

    # then no page and no live answer gives it an ETA
    assert _cell(_row(shown["page"], line), "line-status") == "Cancelled"
    assert _cell(_row(shown["page"], line), "line-eta") == ""
    assert _cell(_row(shown["part"], line), "line-eta") == ""
    assert _live_line(shown["live"], line)["eta"] is None
    assert _live_line(shown["part_live"], line)["eta"] is None
    assert f"part-{line.public_id}" not in shown["parts"]  # the technician's list leaves it out
    assert _back_office_cell(_back_office_row(back_office, line), "line-customer-eta") == "—"


@pytest.mark.django_db(transaction=True)
def test_a_pushed_cancellation_carries_no_eta(order, showcase, customer, sap, t0):
    # given a customer's page follows the order; line 20 is planned for the 5th
    etas_planned(order, showcase, t0, **{"20": 3})
    order.refresh_from_db()

    async def follow():
        communicator = WebsocketCommunicator(
            PortalOrderConsumer.as_asgi(), f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}"
        )
        communicator.scope["user"] = customer
        communicator.scope["url_route"] = {"kwargs": {"public_id": order.public_id}}
        assert (await communicator.connect())[0]
        # when the ERP cancels line 20
        await database_sync_to_async(apply_status_update)(
            line_id=showcase["20"].pk, status="cancelled", occurred_at=t0 + timedelta(hours=2), actor=sap
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    # then the push says it is cancelled, without an ETA
    pushed = next(line for line in message["lines"] if line["number"] == "20")
    assert pushed["status"] == "cancelled"
    assert pushed["eta"] is None and "eta_text" not in pushed


def test_a_shipment_whose_parts_are_all_delivered_shows_its_delivery_not_its_eta(order, showcase, customer, sap, t0):
    # given the carrier gave the UPS shipment (line 10.1) an ETA of the 4th
    shipment = order.shipments.get()
    shipment_track(shipment_id=shipment.pk, data=ShipmentData(eta=t0 + timedelta(days=2)), occurred_at=t0)
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    assert "ETA 4 Nov 2026, 08:00 UTC · Delivered 0 / 3" in _shipments(page)

    # when the carrier delivers it on the 3rd
    delivered_at = t0 + timedelta(days=1, hours=2)
    apply_status_update(line_id=showcase["10.1"].pk, status="delivered", occurred_at=delivered_at, actor=sap)

    # then the shipment shows when it was delivered, and no ETA
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()
    live = signed_in(customer).get(f"/portal/orders/{order.public_id}/live/").json()
    assert "Delivered 3 / 3 · 3 Nov 2026, 10:00 UTC" in _shipments(page)
    assert "ETA" not in _shipments(page) and "4 Nov" not in _shipments(page)
    (pushed,) = live["state"]["shipments"]
    assert (pushed["eta"], pushed["delivered_at"]) == (None, delivered_at.isoformat())
    assert pushed["delivered_at_text"] == "3 Nov 2026, 10:00 UTC"


def test_a_part_delivered_without_a_shipment_record_says_it_arrived(order, showcase, technician, t0):
    # given line 30 was delivered (at 8:12 by the source's clock) without any shipment recorded
    tech = signed_in(technician)

    part = tech.get(f"/tech/parts/{showcase['30'].public_id}/").content.decode()
    waiting = tech.get(f"/tech/parts/{showcase['20'].public_id}/").content.decode()

    german = signed_in(technician, "de").get(f"/tech/parts/{showcase['30'].public_id}/").content.decode()

    # then its page says when it arrived, not that nothing has shipped
    assert "Nothing has shipped yet" not in _shipments(part)
    assert "Line 30 arrived 2 Nov 2026, 08:12 UTC." in _shipments(part)
    assert _shipments(german) == "Position 30 ist am 2. November 2026 08:12 UTC angekommen."
    # while a part still being prepared has indeed not shipped
    assert _shipments(waiting) == "Nothing has shipped yet."


def test_a_part_that_left_without_a_shipment_record_does_not_say_nothing_has_shipped(
    order, showcase, technician, sap, t0
):
    # given line 20 shipped, and no carrier has told us of its shipment yet
    line = showcase["20"]
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=2), actor=sap)

    part = signed_in(technician).get(f"/tech/parts/{line.public_id}/").content.decode()

    assert _shipments(part) == "Line 20 has shipped; the carrier's details are not known yet."


def test_the_technicians_list_names_a_status_as_the_customer_page_does(order, showcase, customer, technician, sap, t0):
    # given line 20 (being prepared) was reported delayed, and a supervisor hid that report
    line = showcase["20"]
    delayed = apply_status_update(line_id=line.pk, status="exception", occurred_at=t0 + timedelta(hours=2), actor=sap)
    supervisor = UserFactory(username="supervisor-hides")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    status_event_suppress(event_id=delayed.event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")

    page = signed_in(customer, "de").get(f"/portal/orders/{order.public_id}/").content.decode()
    parts = signed_in(technician, "de").get("/tech/").content.decode()

    # then the technician's list says what the customer's page says, in German
    assert _cell(_row(page, line), "line-status") == "Wird vorbereitet"
    listed = re.search(rf'id="part-{line.public_id}".*?</li>', parts, re.S).group(0)
    assert _text(re.search(r'<span class="pt-status">(.*?)</span>', listed).group(1)) == "Wird vorbereitet"


def test_the_technicians_list_reads_etas_in_a_fixed_number_of_queries(order, showcase, technician, sap, t0):
    client = signed_in(technician)
    client.get("/tech/")  # labels and brand read once, then kept
    with CaptureQueriesContext(connection) as few:
        client.get("/tech/")
    # given two more jobs, each with a shipped line on a shipment with an ETA
    for number in ("SO-EXTRA-1", "SO-EXTRA-2"):
        extra = OrderFactory(account=order.account, number=number)
        OrderContact.objects.create(order=extra, role=ContactRole.TECHNICIAN, user=technician, name="Tomas Field")
        line = OrderLineFactory(order=extra, number="10", start_occurred_at=t0)
        apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)
        shipment_record(
            line_id=line.pk,
            quantity=line.quantity,
            data=ShipmentData(carrier="UPSN", tracking_number=f"1Z-{number}", eta=t0 + timedelta(days=2)),
            source_system="SAP-ERP",
            occurred_at=t0 + timedelta(hours=1),
        )

    with CaptureQueriesContext(connection) as many:
        page = client.get("/tech/").content.decode()

    assert _text(page).count("ETA 4 Nov 2026, 08:00 UTC") == 2
    assert len(many) == len(few)


def test_a_line_whose_last_change_is_hidden_shows_the_eta_of_what_customers_see(
    order, showcase, customer, technician, sap, t0
):
    # given line 20 (being prepared, planned for the 5th) was reported delivered by mistake, and
    # a supervisor hid that report
    line = showcase["20"]
    etas_planned(order, showcase, t0, **{"20": 3})
    wrong = apply_status_update(line_id=line.pk, status="delivered", occurred_at=t0 + timedelta(hours=2), actor=sap)
    supervisor = UserFactory(username="supervisor-hides")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    status_event_suppress(event_id=wrong.event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")
    assert StatusEvent.objects.filter(line=line, to_status="delivered").exists()

    shown = _pages(order, line, customer, technician)

    # then the technician's list, like the customer's page, shows it being prepared, due on the 5th
    assert _cell(_row(shown["page"], line), "line-eta") == "5 Nov 2026, 08:00 UTC"
    listed = _listed(shown["parts"], line)
    assert "Being prepared" in listed and "ETA 5 Nov 2026, 08:00 UTC" in listed and "Delivered" not in listed


def test_a_line_whose_cancellation_is_hidden_stays_on_the_technicians_list_as_customers_see_it(
    order, showcase, customer, technician, sap, t0
):
    # given line 20 (being prepared, planned for the 5th) was cancelled by mistake, and a
    # supervisor hid that cancellation; line 10.2 was reported delayed (hidden too), then really
    # cancelled
    line, cancelled = showcase["20"], showcase["10.2"]
    etas_planned(order, showcase, t0, **{"20": 3})
    wrong = apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0 + timedelta(hours=2), actor=sap)
    delayed = apply_status_update(
        line_id=cancelled.pk, status="exception", occurred_at=t0 + timedelta(hours=2), actor=sap
    )
    apply_status_update(line_id=cancelled.pk, status="cancelled", occurred_at=t0 + timedelta(hours=3), actor=sap)
    supervisor = UserFactory(username="supervisor-hides")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    for event in (wrong.event, delayed.event):
        status_event_suppress(event_id=event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")

    shown = _pages(order, line, customer, technician)

    # then the technician's list, like the customer's page, shows line 20 being prepared, due on
    # the 5th; line 10.2, cancelled for all to see, stays off the list
    assert _cell(_row(shown["page"], line), "line-status") == "Being prepared"
    assert _cell(_row(shown["page"], line), "line-eta") == "5 Nov 2026, 08:00 UTC"
    listed = _listed(shown["parts"], line)
    assert "Being prepared" in listed and "ETA 5 Nov 2026, 08:00 UTC" in listed and "Cancelled" not in listed
    assert _cell(_row(shown["page"], cancelled), "line-status") == "Cancelled"
    assert f"part-{cancelled.public_id}" not in shown["parts"]


def _job_with_a_hidden_change(order, technician, sap, t0, number: str) -> None:
    """Another order of the account, the technician's job, whose one line's delay was hidden."""
    job = OrderFactory(account=order.account, number=number)
    OrderContact.objects.create(order=job, role=ContactRole.TECHNICIAN, user=technician, name="Tomas Field")
    line = OrderLineFactory(order=job, number="10", start_occurred_at=t0)
    apply_status_update(line_id=line.pk, status="released", occurred_at=t0 + timedelta(hours=1), actor=sap)
    delayed = apply_status_update(line_id=line.pk, status="exception", occurred_at=t0 + timedelta(hours=2), actor=sap)
    supervisor = UserFactory(username=f"supervisor-{number}")
    supervisor.user_permissions.add(Permission.objects.get(codename="suppress_statusevent"))
    status_event_suppress(event_id=delayed.event.pk, user=supervisor, reason_code="wrong", reason_text="Wrong line")


def test_the_technicians_list_reads_the_views_of_orders_with_hidden_changes_in_a_fixed_number_of_queries(
    order, showcase, technician, sap, t0
):
    # given one job with a hidden change, its list read once (the views built and cached)
    client = signed_in(technician)
    _job_with_a_hidden_change(order, technician, sap, t0, "SO-HIDDEN-1")
    client.get("/tech/")
    with CaptureQueriesContext(connection) as one:
        client.get("/tech/")
    # and three more such jobs
    for number in ("SO-HIDDEN-2", "SO-HIDDEN-3", "SO-HIDDEN-4"):
        _job_with_a_hidden_change(order, technician, sap, t0, number)
    client.get("/tech/")

    with CaptureQueriesContext(connection) as four:
        page = client.get("/tech/").content.decode()

    # then each shows what its page shows, and the warm list costs the same queries
    assert _text(page).count("Order confirmed") == 4 and "Delayed" not in _text(page)
    assert len(four) == len(one)


def test_a_part_delivered_without_a_shipment_record_is_named_beside_the_orders_shipments(order, showcase, customer):
    # given the order's one shipment (UPS) carries line 10.1, and line 30 was delivered at 8:12
    # without any shipment recorded
    page = signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    # then the shipments' part shows the shipment and says when line 30 arrived
    shipments = _shipments(page)
    assert "Line 10.1 × 3" in shipments
    assert "Line 30 arrived 2 Nov 2026, 08:12 UTC." in shipments
    assert "Nothing has shipped yet" not in shipments
