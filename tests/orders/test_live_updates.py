"""Live updates: a signed-in viewer following an order over a websocket sees its status changes."""

import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from guardian.shortcuts import assign_perm

from config.asgi import application
from orders.consumers import OrderChangesConsumer
from orders.models import OrderLine
from orders.routing import websocket_urlpatterns
from orders.services import apply_status_update
from orders.services.splitting import SplitPart, split_line
from tests.factories import RegionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _communicator(user, public_id) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(OrderChangesConsumer.as_asgi(), f"/ws/orders/{public_id}/")
    communicator.scope["user"] = user
    communicator.scope["url_route"] = {"kwargs": {"public_id": public_id}}
    return communicator


def test_viewer_receives_the_status_change_of_the_order_they_follow(line, viewer, sap, t0):
    communicator = _communicator(viewer, line.order.public_id)

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
    # named by public ids only: the integer ids of the outbox payload stay inside
    assert message["change"]["order_public_id"] == str(line.order.public_id)
    assert message["change"]["line_public_id"] == str(line.public_id)
    assert not {"order_id", "line_id", "event_id", "inbound_message_id"} & set(message["change"])
    assert "id" not in message


def test_a_split_is_pushed_with_public_ids_and_no_integer_id_anywhere(line, viewer, sap):
    # given a viewer following the order of a line of 5
    communicator = _communicator(viewer, line.order.public_id)

    async def follow_and_receive():
        connected, _ = await communicator.connect()
        assert connected
        await database_sync_to_async(split_line)(line_id=line.pk, parts=[SplitPart(quantity=2)], actor=sap)
        message = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return message

    # when the line is split
    message = async_to_sync(follow_and_receive)()

    # then the change names the line and each child by public id, and no number in it is an id
    assert message["topic"] == "line.split"
    children = OrderLine.objects.filter(parent=line).order_by("number")
    assert message["change"]["line_public_id"] == str(line.public_id)
    assert [child["line_public_id"] for child in message["change"]["children"]] == [
        str(child.public_id) for child in children
    ]
    assert _integer_ids(message) == []


def _integer_ids(value, path="") -> list[str]:
    """Paths of keys that name an id and hold an integer, however deep."""
    if isinstance(value, dict):
        found = [f"{path}/{key}" for key, item in value.items() if key.endswith("id") and isinstance(item, int)]
        return found + [hit for key, item in value.items() for hit in _integer_ids(item, f"{path}/{key}")]
    if isinstance(value, list):
        return [hit for index, item in enumerate(value) for hit in _integer_ids(item, f"{path}/{index}")]
    return []


def test_person_without_view_permission_is_refused(line, outsider):
    communicator = _communicator(outsider, line.order.public_id)

    async def try_to_follow():
        connected, code = await communicator.connect()
        return connected, code

    connected, code = async_to_sync(try_to_follow)()

    assert not connected
    assert code == 4404


def test_unknown_order_is_refused_like_a_foreign_one(viewer):
    connected, code = async_to_sync(_communicator(viewer, uuid.uuid4()).connect)()

    assert (connected, code) == (False, 4404)


def test_order_out_of_scope_is_refused_like_an_unknown_one(line):
    # given a planner whose scope is another region than the order's
    planner = UserFactory(username="planner-elsewhere")
    planner.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "view_orderline"]))
    assign_perm("orders.work_in_region", planner, RegionFactory(code="elsewhere"))

    # when they try to follow the order by its public id
    connected, code = async_to_sync(_communicator(planner, line.order.public_id).connect)()

    # then they are refused as for an order that does not exist
    assert (connected, code) == (False, 4404)


def test_order_number_and_integer_id_name_no_websocket_route(line, viewer):
    # Through the app's routes: only a public id matches.
    for name in (line.order.number, line.order.pk):
        communicator = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/orders/{name}/")
        with pytest.raises(ValueError, match="No route found"):
            async_to_sync(communicator.connect)()


def test_websocket_route_is_mounted_in_the_asgi_application(line, viewer):
    # Through the real router: anonymous (no session cookie) gets refused, the route exists.
    communicator = WebsocketCommunicator(
        application, f"/ws/orders/{line.order.public_id}/", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, code = async_to_sync(communicator.connect)()

    assert (connected, code) == (False, 4404)


async def _apply_async(line_id, actor, when):
    await database_sync_to_async(apply_status_update)(line_id=line_id, status="shipped", occurred_at=when, actor=actor)
