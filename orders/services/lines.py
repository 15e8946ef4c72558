"""A line edited by a person (in the admin): its site, planned ETA, tracking number and carrier,
or a new line. Published like every change of the core, so open pages and their reconnects
follow it in the order's sequence."""

from django.db import transaction

from orders.models import Order, OrderLine
from orders.publication import Topic
from orders.services.outbox import outbox_publish


def line_edit_save(*, line: OrderLine, fields: list[str], adding: bool = False) -> OrderLine:
    """Save `line` as edited (`fields`: the names of what changed). When something changed, a
    line.edited row is published: live pages push what each audience is shown of it
    (portal.live), and the order's views take its new sequence as their version."""
    with transaction.atomic():
        # The lock order of every change: the order first, then its line.
        order = Order.objects.select_for_update().get(pk=line.order_id)
        line.save()
        if not fields and not adding:
            return line
        outbox_publish(
            topic=Topic.LINE_EDITED,
            order=order,
            payload={
                "order_id": line.order_id,
                "line_id": line.pk,
                "line_number": line.number,
                "fields": sorted(fields),
                "added": adding,
            },
        )
    return line
