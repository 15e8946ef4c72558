"""Live updates: status changes pushed to websocket groups, one group per order."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from orders.models import OutboxEvent
from orders.publication import Topic, register_handler

# Integer ids of the payload stay inside: a websocket is outside the back office.
INTERNAL_KEYS = frozenset({"order_id", "line_id", "event_id", "inbound_message_id"})


def order_group_name(order_id: int) -> str:
    return f"order-{order_id}"


def public_change(payload):
    """The outbox payload as a follower outside the back office may see it: public ids only
    (nested rows too, such as the children of a split)."""
    if isinstance(payload, dict):
        return {key: public_change(value) for key, value in payload.items() if key not in INTERNAL_KEYS}
    if isinstance(payload, list):
        return [public_change(item) for item in payload]
    return payload


def push_to_order_group(event: OutboxEvent) -> None:
    layer = get_channel_layer()
    if layer is None or event.order_id is None:
        return
    async_to_sync(layer.group_send)(
        order_group_name(event.order_id),
        {
            "type": "order.changed",
            "topic": event.topic,
            "sequence": event.order_sequence,
            "change": public_change(event.payload),
        },
    )


def register() -> None:
    register_handler(
        name="orders.live",
        topics=[Topic.LINE_STATUS_CHANGED, Topic.LINE_SPLIT],
        handler=push_to_order_group,
    )
