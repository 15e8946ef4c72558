"""Live pages: each change of an order is built into its views once, and only what changed is
pushed to the portal's and status links' websockets (one group per order and audience)."""

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache

from orders.models import Order, OutboxEvent
from orders.publication import Topic, register_handler
from orders.read_models import Audience, order_view, view_changes, with_view_version
from orders.read_models.cache import CACHE_SECONDS

TOPICS = [
    Topic.LINE_STATUS_CHANGED,
    Topic.LINE_SPLIT,
    Topic.ORDER_UPSERTED,
    Topic.EVENT_SUPPRESSED,
    Topic.SHIPMENT_UPDATED,
    Topic.LINE_EDITED,
]


def portal_group_name(order_id: int, audience: str) -> str:
    return f"portal-{audience}-{order_id}"


def push_order_views(event: OutboxEvent) -> None:
    """Build the order's views (the readers' next hit is this build) and push the difference
    from the view pushed before. At least once: a redelivered row pushes nothing new."""
    if event.order_id is None:
        return
    order = with_view_version(Order.objects.filter(pk=event.order_id)).first()
    if order is None:
        return
    layer = get_channel_layer()
    for audience in (Audience.CUSTOMER, Audience.TECHNICIAN):
        after = order_view(order, audience=audience)
        pushed_key = f"order-view-pushed:{audience}:{order.pk}"
        before = cache.get(pushed_key)
        if before == after:
            continue
        cache.set(pushed_key, after, CACHE_SECONDS)
        if layer is not None:
            async_to_sync(layer.group_send)(
                portal_group_name(order.pk, audience),
                # The push's id: every socket reading it in one language and zone sends the same text.
                {"type": "portal.changed", "change": view_changes(before, after), "push": uuid.uuid4().hex},
            )


def register() -> None:
    register_handler(name="portal.live", topics=TOPICS, handler=push_order_views)
