"""Live order pages over websockets: scope checked on connect for people and tokens, the state
sent to a client that is behind, then only what changed, in the viewer's language."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from config.middleware import TIME_ZONE_COOKIE
from orders.models import OrderLine
from orders.services import apply_status_update
from portal.consumers import PortalOrderConsumer, StatusLinkConsumer
from portal.models import LinkAudience
from portal.services.links import status_link_issue, status_link_revoke
from tests.admin_forms import form_as_shown
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _portal_socket(user, order, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(PortalOrderConsumer.as_asgi(), f"/ws/portal/orders/{order.public_id}/?{query}")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"public_id": order.public_id}}
    return communicator


def _link_socket(path: str, query: str = "") -> WebsocketCommunicator:
    token = path.split("/")[2]
    communicator = WebsocketCommunicator(StatusLinkConsumer.as_asgi(), f"/ws/s/{token}/?{query}")
    communicator.scope["url_route"] = {"kwargs": {"token": token}}
    return communicator


def _connect(communicator):
    return async_to_sync(communicator.connect)()


@pytest.mark.parametrize(
    ("persona", "accepted"), [("customer", True), ("dealer", True), ("other_customer", False), ("technician", True)]
)
def test_scope_is_checked_on_connect_for_people(request, order, showcase, technician, persona, accepted):
    connected, code = _connect(_portal_socket(request.getfixturevalue(persona), order))

    assert connected is accepted
    if not accepted:
        assert code == 4404


def test_scope_is_checked_on_connect_for_tokens(order, showcase):
    valid = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    revoked = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    status_link_revoke(link=revoked.link)
    expired = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(seconds=1))
    expired.link.expires_at = timezone.now() - timedelta(seconds=1)
    expired.link.save(update_fields=["expires_at"])

    assert _connect(_link_socket(valid.path))[0] is True
    assert _connect(_link_socket(revoked.path)) == (False, 4404)
    assert _connect(_link_socket(expired.path)) == (False, 4404)
    assert _connect(_link_socket("/s/notatokennotatokennotatoken/")) == (False, 4404)


def test_a_follower_gets_only_the_changed_line_in_their_language(order, showcase, customer, sap, t0):
    line = showcase["10.2"]

    async def follow():
        communicator = _portal_socket(customer, order, f"since={order.outbox_sequence}&lang=de")
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_nothing(timeout=0.2)  # up to date: no state sent
        await database_sync_to_async(apply_status_update)(
            line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    assert "state" not in message
    # the line, and its split parent whose rolled-up status moved with it
    assert [changed["number"] for changed in message["lines"]] == ["10", "10.2"]
    assert message["lines"][0]["label"] == "Für Sie reserviert"
    assert message["sequence"] == order.outbox_sequence + 1
    assert message["timeline_append"][0]["status"] == "allocated"


def test_a_client_behind_gets_the_state_first(order, showcase, customer):
    async def resume():
        communicator = _portal_socket(customer, order, "since=1")
        await communicator.connect()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(resume)()

    assert message["sequence"] == order.outbox_sequence
    assert {line["number"] for line in message["state"]["lines"]} == {"10", "10.1", "10.2", "20", "30"}
    assert message["state"]["summary"]


def line_link_follows(path: str, *, other_line_changes, own_line_changes) -> tuple[dict, bool, dict]:
    """A socket on a line link: (the state it is sent first, whether it got nothing when
    `other_line_changes` ran, the change it is sent when `own_line_changes` runs)."""

    async def follow():
        communicator = _link_socket(path)
        await communicator.connect()
        state = await communicator.receive_json_from(timeout=5)
        await database_sync_to_async(other_line_changes)()
        other_line_change = await communicator.receive_nothing(timeout=0.5)
        await database_sync_to_async(own_line_changes)()
        own = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return state, other_line_change, own

    return async_to_sync(follow)()


def test_a_line_link_follows_its_line_only(order, showcase, sap, t0):
    issued = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER)

    def move(line, status, hours):
        return lambda: apply_status_update(
            line_id=showcase[line].pk, status=status, occurred_at=t0 + timedelta(hours=hours), actor=sap
        )

    state, other_line_change, own = line_link_follows(
        issued.path, other_line_changes=move("10.2", "allocated", 2), own_line_changes=move("20", "packed", 3)
    )

    assert [line["number"] for line in state["state"]["lines"]] == ["20"]
    assert other_line_change is True
    assert [line["number"] for line in own["lines"]] == ["20"]


def test_pushed_times_read_as_the_page_writes_them(order, showcase, customer, sap, t0):
    line = showcase["10.2"]

    async def follow():
        communicator = _portal_socket(customer, order, f"since={order.outbox_sequence}&lang=de&tz=Europe/Berlin")
        await communicator.connect()
        await database_sync_to_async(apply_status_update)(
            line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    # the same words as the page itself, reloaded by a German viewer in Berlin
    pushed = message["timeline_append"][0]
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(customer)
    client.cookies[TIME_ZONE_COOKIE] = "Europe/Berlin"
    page = client.get(f"/portal/orders/{order.public_id}/").content.decode()
    shown = page.split(f'<time datetime="{pushed["at"]}">')[1].split("</time>")[0]
    assert pushed["at_text"] == shown
    assert shown.endswith(("CET", "CEST"))


def test_a_carrier_location_update_without_a_status_change_reaches_open_pages(order, showcase, customer):
    from orders.services.shipments import ShipmentData, shipment_track

    shipment = order.shipments.get()

    async def follow():
        communicator = _portal_socket(customer, order, f"since={order.outbox_sequence}")
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(shipment_track)(
            shipment_id=shipment.pk, data=ShipmentData(location="Duisburg depot"), occurred_at=shipment.created_at
        )
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    assert message["sequence"] == order.outbox_sequence + 1
    assert [s["last_location"] for s in message["shipments"]] == ["Duisburg depot"]
    assert [s["carrier_display"] for s in message["shipments"]] == ["UPS (UPSN)"]  # as the page names it


def test_a_polling_page_sees_a_carrier_update_without_a_status_change(order, showcase, customer):
    from orders.services.shipments import ShipmentData, shipment_track

    client = Client()
    client.force_login(customer)
    shipment = order.shipments.get()
    url = f"/portal/orders/{order.public_id}/live/?since={order.outbox_sequence}"
    assert client.get(url).json() == {"sequence": order.outbox_sequence}

    shipment_track(
        shipment_id=shipment.pk, data=ShipmentData(location="Duisburg depot"), occurred_at=shipment.created_at
    )

    moved = client.get(url).json()
    assert moved["sequence"] == order.outbox_sequence + 1
    assert "Duisburg depot" in str(moved)


def test_sockets_of_one_order_in_two_languages_each_get_their_own_words(order, showcase, customer, sap, t0):
    line = showcase["10.2"]

    async def follow():
        german = _portal_socket(customer, order, f"since={order.outbox_sequence}&lang=de")
        english = _portal_socket(customer, order, f"since={order.outbox_sequence}&lang=en")
        assert (await german.connect())[0] and (await english.connect())[0]
        await database_sync_to_async(apply_status_update)(
            line_id=line.pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap
        )
        messages = (await german.receive_json_from(timeout=5), await english.receive_json_from(timeout=5))
        await german.disconnect()
        await english.disconnect()
        return messages

    german, english = async_to_sync(follow)()

    assert german["sequence"] == english["sequence"] == order.outbox_sequence + 1
    assert german["lines"][0]["label"] == "Für Sie reserviert"
    assert english["lines"][0]["label"] != german["lines"][0]["label"]


def _admin_line_edit(line, **changes) -> None:
    """Staff open the line's change form in the admin and save it with `changes`."""
    client = Client()
    client.force_login(UserFactory(username="planner", is_staff=True, is_superuser=True))
    url = reverse("admin:orders_orderline_change", args=[line.pk])
    answer = client.post(url, {**form_as_shown(client.get(url).content.decode()), **changes})
    assert answer.status_code == 302, answer.content.decode()[:2000]


def test_an_eta_and_tracking_edited_in_the_admin_reach_open_pages_of_every_audience(
    order, showcase, customer, technician
):
    # given a customer's page, a technician's page and a customer's status link open, up to date
    line = showcase["20"]
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    since = f"since={order.outbox_sequence}"

    async def follow():
        sockets = [
            _portal_socket(customer, order, since),
            _portal_socket(technician, order, since),
            _link_socket(link.path, since),
        ]
        for socket in sockets:
            assert (await socket.connect())[0]
            assert await socket.receive_nothing(timeout=0.2)
        # when staff change the line's planned ETA and tracking number in the admin
        await database_sync_to_async(_admin_line_edit)(
            line, eta_0="2026-12-01", eta_1="09:30:00", carrier="DHLF", tracking_number="JD0142"
        )
        messages = [await socket.receive_json_from(timeout=5) for socket in sockets]
        for socket in sockets:
            await socket.disconnect()
        return messages

    as_customer, as_technician, as_link = async_to_sync(follow)()

    # then each page is pushed the line with its new ETA, next in the order's sequence
    eta = OrderLine.objects.get(pk=line.pk).eta.isoformat()
    assert eta.startswith("2026-12-01")
    for message in (as_customer, as_technician, as_link):
        assert message["sequence"] == order.outbox_sequence + 1
        assert [(changed["number"], changed["eta"]) for changed in message["lines"]] == [("20", eta)]
    # and the technician also its carrier and tracking, which customers are not shown
    assert (as_technician["lines"][0]["carrier_display"], as_technician["lines"][0]["tracking_number"]) == (
        "DHL Freight (DHLF)",
        "JD0142",
    )
    assert "tracking_number" not in as_customer["lines"][0] and "tracking_number" not in as_link["lines"][0]


def test_a_page_that_missed_an_admin_eta_edit_catches_up_by_sequence(order, showcase, customer):
    # given a customer's page that has seen the order up to now
    line = showcase["20"]
    seen = order.outbox_sequence

    # when staff change the line's planned ETA in the admin while the page is disconnected
    _admin_line_edit(line, eta_0="2026-12-01", eta_1="09:30:00")

    # then polling, and a socket resuming, from what the page saw both bring the new ETA
    eta = OrderLine.objects.get(pk=line.pk).eta.isoformat()
    client = Client()
    client.force_login(customer)
    polled = client.get(f"/portal/orders/{order.public_id}/live/?since={seen}").json()
    assert polled["sequence"] == seen + 1
    assert eta in str(polled)

    async def resume():
        communicator = _portal_socket(customer, order, f"since={seen}")
        await communicator.connect()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    resumed = async_to_sync(resume)()
    assert resumed["sequence"] == seen + 1
    assert {line["number"]: line["eta"] for line in resumed["state"]["lines"]}["20"] == eta
