"""Live updates: a signed-in viewer following an order over a websocket sees its status changes."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from orders.consumers import OrderChangesConsumer
from orders.services import apply_status_update

pytestmark = pytest.mark.django_db(transaction=True)


def _communicator(user, number: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(OrderChangesConsumer.as_asgi(), f"/ws/orders/{number}/")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"number": number}}
    return communicator


def test_viewer_receives_the_status_change_of_the_order_they_follow(line, viewer, sap, t0):
    communicator = _communicator(viewer, line.order.number)

    async def follow_and_receive():
        connected, _ = await communicator.connect()
        assert connected
        await _apply_async(line.pk, sap, t0)
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    message = async_to_sync(follow_and_receive)()

    assert message["topic"] == "line.status_changed"
    assert message["change"]["line_number"] == line.number
    assert message["change"]["to_status"] == "shipped"


def test_person_without_view_permission_is_refused(line, outsider):
    communicator = _communicator(outsider, line.order.number)

    async def try_to_follow():
        connected, code = await communicator.connect()
        return connected, code

    connected, code = async_to_sync(try_to_follow)()

    assert not connected
    assert code == 4404


def test_unknown_order_is_refused_like_a_foreign_one(viewer):
    connected, code = async_to_sync(_communicator(viewer, "SO-NOPE").connect)()

    assert (connected, code) == (False, 4404)


def test_websocket_route_is_mounted_in_the_asgi_application(line, viewer):
    # Through the real router: anonymous (no session cookie) gets refused, the route exists.
    communicator = WebsocketCommunicator(
        application, f"/ws/orders/{line.order.number}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, code = async_to_sync(communicator.connect)()

    assert (connected, code) == (False, 4404)


async def _apply_async(line_id, actor, when):
    await database_sync_to_async(apply_status_update)(line_id=line_id, status="shipped", occurred_at=when, actor=actor)
