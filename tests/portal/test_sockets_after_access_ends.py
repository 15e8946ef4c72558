"""An open websocket stops receiving the moment what it follows is no longer its holder's to
see: a status link revoked, rotated or expired, a person whose permission was withdrawn or who
signed out. Each case through HTTP or the ORM as an operator would, and the socket as a browser."""

import time
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


def _order_path(order) -> str:
    return f"/ws/portal/orders/{order.public_id}/?since={order.outbox_sequence}"


async def _connected(path: str, client: Client | None = None) -> WebsocketCommunicator:
    communicator = _socket(path, client)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


def _after_access_ends(path: str, end_access, change, client: Client | None = None) -> tuple[dict, bool]:
    """A socket open on `path` (with `client`'s session) while `end_access` ends what lets it
    follow: what it gets then (the close), and whether the later `change` pushes nothing to it.
    Both callables are synchronous (HTTP through the test client, the ORM)."""

    async def follow():
        communicator = await _connected(path, client)
        await database_sync_to_async(end_access)()
        closing = await communicator.receive_output(timeout=5)
        await database_sync_to_async(change)()
        silent = await communicator.receive_nothing(timeout=0.5)
        return closing, silent

    return async_to_sync(follow)()


def _push_after(path: str, change, client: Client | None = None) -> dict:
    """The next push a socket open on `path` receives once `change` (synchronous) happened."""

    async def follow():
        communicator = await _connected(path, client)
        await database_sync_to_async(change)()
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    return async_to_sync(follow)()


def _later_change(showcase, sap, t0):
    return lambda: apply_status_update(
        line_id=showcase["10.2"].pk, status="allocated", occurred_at=t0 + timedelta(hours=2), actor=sap
    )


@pytest.mark.parametrize("action", ["revoke", "rotate"])
def test_a_link_revoked_or_rotated_in_the_portal_closes_its_open_sockets(order, showcase, customer, sap, t0, action):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    portal = _client(customer)

    def act_in_the_portal():
        answer = portal.post(f"/portal/links/{issued.link.public_id}/{action}/", {"confirmed": "1"})
        assert answer.status_code == 302

    closing, silent = _after_access_ends(
        _link_path(issued) + f"?since={order.outbox_sequence}", act_in_the_portal, _later_change(showcase, sap, t0)
    )

    assert closing == CLOSED
    assert silent is True


def test_a_link_closes_its_socket_when_it_expires(order, showcase, sap, t0):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(seconds=1))

    closing, silent = _after_access_ends(
        _link_path(issued) + f"?since={order.outbox_sequence}",
        lambda: time.sleep(1.2),
        _later_change(showcase, sap, t0),
    )

    assert closing == CLOSED
    assert silent is True


def test_a_person_whose_permission_is_withdrawn_stops_receiving(order, showcase, customer, customer_account, sap, t0):
    closing, silent = _after_access_ends(
        _order_path(order),
        lambda: remove_perm("orders.follow_account_orders", customer, customer_account),
        _later_change(showcase, sap, t0),
        client=_client(customer),
    )

    assert closing == CLOSED
    assert silent is True


def test_signing_out_closes_the_sessions_sockets(order, showcase, customer, sap, t0):
    portal = _client(customer)

    closing, silent = _after_access_ends(
        _order_path(order), lambda: portal.post("/portal/logout/"), _later_change(showcase, sap, t0), client=portal
    )

    assert closing == CLOSED
    assert silent is True


def test_a_socket_still_in_scope_keeps_receiving(order, showcase, customer, sap, t0):
    message = _push_after(_order_path(order), _later_change(showcase, sap, t0), client=_client(customer))

    assert message["timeline_append"][0]["status"] == "allocated"


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

    closing, silent = _after_access_ends(
        _order_path(order),
        lambda: OrderContact.objects.filter(user=technician).delete(),
        _later_change(showcase, sap, t0),
        client=_client(technician),
    )

    assert closing == CLOSED
    assert silent is True


def test_a_dealer_no_longer_serving_the_account_stops_receiving(order, showcase, dealer, customer_account, sap, t0):
    def no_longer_the_dealer():
        customer_account.dealer = None
        customer_account.save()

    closing, silent = _after_access_ends(
        _order_path(order), no_longer_the_dealer, _later_change(showcase, sap, t0), client=_client(dealer)
    )

    assert closing == CLOSED
    assert silent is True


def test_a_line_links_full_state_push_keeps_the_lines_split_from_it(order, showcase, sap, t0):
    issued = status_link_issue(order=order, line=showcase["10"], audience=LinkAudience.CUSTOMER)

    def change_after_the_pushed_view_is_gone():
        # the view pushed before is gone (evicted from the cache; not a flush: with Redis the
        # channel layer shares the database): this push carries the whole state
        cache.delete(f"order-view-pushed:customer:{order.pk}")
        _later_change(showcase, sap, t0)()

    message = _push_after(_link_path(issued) + f"?since={order.outbox_sequence}", change_after_the_pushed_view_is_gone)

    # whether the whole state or what changed: the link's lines, the ones split from it included
    # (the change moved 10.2, and its parent 10 rolled up with it), and no other line
    lines = message["state"]["lines"] if "state" in message else message["lines"]
    numbers = sorted(line["number"] for line in lines)
    assert "10.2" in numbers and set(numbers) <= {"10", "10.1", "10.2"}
