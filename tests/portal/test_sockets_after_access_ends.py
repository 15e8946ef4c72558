"""An open websocket stops receiving the moment what it follows is no longer its holder's to
see: a status link revoked, rotated or expired, a person whose permission was withdrawn or who
signed out. Each case through HTTP or the ORM as an operator would, and the socket as a browser."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client
from guardian.shortcuts import remove_perm

from orders.services import apply_status_update
from portal.models import LinkAudience
from portal.routing import websocket_urlpatterns
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db(transaction=True)
APP = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
CLOSED = {"type": "websocket.close", "code": 4404}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _socket(path: str, client: Client | None = None) -> WebsocketCommunicator:
    headers = [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())] if client else []
    return WebsocketCommunicator(APP, path, headers=headers)


def _link_path(issued) -> str:
    return f"/ws{issued.path}"


async def _closed_then_silent(communicator, change) -> tuple[dict, bool]:
    """What the socket gets after the access ended: the close; then a change pushes nothing."""
    closing = await communicator.receive_output(timeout=5)
    await database_sync_to_async(change)()
    silent = await communicator.receive_nothing(timeout=0.5)
    return closing, silent


def _later_change(showcase, sap, t0):
    return lambda: apply_status_update(
        line_id=showcase["10.2"].pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap
    )


@pytest.mark.parametrize("action", ["revoke", "rotate"])
def test_a_link_revoked_or_rotated_in_the_portal_closes_its_open_sockets(order, showcase, customer, sap, t0, action):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    portal = _client(customer)

    async def follow():
        communicator = _socket(_link_path(issued) + f"?since={order.outbox_sequence}")
        connected, _ = await communicator.connect()
        assert connected
        answer = await database_sync_to_async(portal.post)(f"/portal/links/{issued.link.public_id}/{action}/")
        assert answer.status_code in (200, 302)
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_a_link_closes_its_socket_when_it_expires(order, showcase, sap, t0):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(seconds=1))

    async def follow():
        communicator = _socket(_link_path(issued) + f"?since={order.outbox_sequence}")
        connected, _ = await communicator.connect()
        assert connected
        await asyncio.sleep(1.2)
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_a_person_whose_permission_is_withdrawn_stops_receiving(order, showcase, customer, customer_account, sap, t0):
    portal = _client(customer)

    async def follow():
        communicator = _socket(f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}", portal)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(remove_perm)("orders.follow_account_orders", customer, customer_account)
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_signing_out_closes_the_sessions_sockets(order, showcase, customer, sap, t0):
    portal = _client(customer)

    async def follow():
        communicator = _socket(f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}", portal)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(portal.post)("/portal/logout/")
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_a_socket_still_in_scope_keeps_receiving(order, showcase, customer, sap, t0):
    portal = _client(customer)

    async def follow():
        communicator = _socket(f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}", portal)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(_later_change(showcase, sap, t0))()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    assert async_to_sync(follow)()["timeline_append"][0]["status"] == "allocated"


def test_websocket_connects_count_against_the_addresss_limit(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP = 2
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    async def connect(path):
        communicator = _socket(path)
        communicator.scope["client"] = ("192.0.2.7", 40000)
        connected, code = await communicator.connect()
        if connected:
            await communicator.disconnect()
        return connected, code

    guesses = [async_to_sync(connect)(f"/ws/s/guessedtokenguessedtoken{n}/") for n in range(2)]
    real = async_to_sync(connect)(_link_path(issued))

    assert guesses == [(False, 4404), (False, 4404)]
    assert real == (False, 4404)


def test_a_technician_taken_off_the_job_stops_receiving(order, showcase, technician, sap, t0):
    from orders.models import OrderContact

    portal = _client(technician)

    async def follow():
        communicator = _socket(f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}", portal)
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(OrderContact.objects.filter(user=technician).delete)()
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_a_dealer_no_longer_serving_the_account_stops_receiving(order, showcase, dealer, customer_account, sap, t0):
    portal = _client(dealer)

    async def follow():
        communicator = _socket(f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}", portal)
        connected, _ = await communicator.connect()
        assert connected
        customer_account.dealer = None
        await database_sync_to_async(customer_account.save)()
        return await _closed_then_silent(communicator, _later_change(showcase, sap, t0))

    closing, silent = async_to_sync(follow)()

    assert closing == CLOSED
    assert silent is True


def test_a_line_links_full_state_push_keeps_the_lines_split_from_it(order, showcase, sap, t0):
    issued = status_link_issue(order=order, line=showcase["10"], audience=LinkAudience.CUSTOMER)

    async def follow():
        communicator = _socket(_link_path(issued) + f"?since={order.outbox_sequence}")
        connected, _ = await communicator.connect()
        assert connected
        # the view pushed before is gone (evicted from the cache; not a flush: with Redis the
        # channel layer shares the database): this push carries the whole state
        await database_sync_to_async(cache.delete)(f"order-view-pushed:customer:{order.pk}")
        await database_sync_to_async(_later_change(showcase, sap, t0))()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow)()

    # whether the whole state or what changed: the link's lines, the ones split from it included
    # (the change moved 10.2, and its parent 10 rolled up with it), and no other line
    lines = message["state"]["lines"] if "state" in message else message["lines"]
    numbers = sorted(line["number"] for line in lines)
    assert "10.2" in numbers and set(numbers) <= {"10", "10.1", "10.2"}
