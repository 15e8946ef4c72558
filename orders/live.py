"""Live updates: status changes pushed to websocket groups, one group per order."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from orders.models import OutboxEvent
from orders.publication import Topic, register_handler


def order_group_name(order_id: int) -> str:
    return f"order-{order_id}"


def push_to_order_group(event: OutboxEvent) -> None:
    layer = get_channel_layer()
    if layer is None or event.order_id is None:
        return
    async_to_sync(layer.group_send)(
        order_group_name(event.order_id),
        {"type": "order.changed", "topic": event.topic, "outbox_id": event.pk, "change": event.payload},
    )


def register() -> None:
    register_handler(
        name="orders.live",
        topics=[Topic.LINE_STATUS_CHANGED, Topic.LINE_SPLIT],
        handler=push_to_order_group,
    )
