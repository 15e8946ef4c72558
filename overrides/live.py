"""The back office's live feed: one websocket per page, subscribed to the signed-in person's
scope (a group per region, account and site they work on, or one for everything), fed with the
changes that move their queue or the pages they look at: status changes and splits, lines
edited in the admin (ETA, site, carrier, tracking), stale alerts opened or escalated,
discrepancies opened (through the core's outbox), and cases or requests people take, resolve or
ask for (right after their commit).

A message names only the order's public id and what happened; the page fetches itself again to
show it, through the same scoped views as any request."""

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from guardian.shortcuts import get_objects_for_user

from orders.models import Account, Order, OrderLine, OutboxEvent, Region, Site
from orders.publication import Topic, register_handler
from orders.scoping import sees_every_order

logger = logging.getLogger(__name__)

EVERYTHING = "backoffice-all"
TOPICS = [
    Topic.LINE_STATUS_CHANGED,
    Topic.LINE_SPLIT,
    Topic.LINE_ETA_CHANGED,
    Topic.LINE_EDITED,
    Topic.ALERT_OPENED,
    Topic.ALERT_ESCALATED,
    Topic.DISCREPANCY_OPENED,
    Topic.EVENT_SUPPRESSED,
]
# What people do on a case or a request: not an outbox topic, a nudge after the commit.
CASE_CHANGED = "case.changed"


def scope_group_names(user) -> list[str]:
    """The groups a person's live feed listens to: their scope, as orders.scoping draws it."""
    if sees_every_order(user) or user.has_perm("orders.work_at_site"):
        return [EVERYTHING]
    names = [f"backoffice-region-{pk}" for pk in _ids(user, "orders.work_in_region", Region)]
    names += [f"backoffice-account-{pk}" for pk in _ids(user, "orders.work_for_account", Account)]
    names += [f"backoffice-site-{pk}" for pk in _ids(user, "orders.work_at_site", Site)]
    return names


def order_group_names(order_id: int) -> tuple[str, list[str]]:
    """The order's public id, and every group whose people may see the order."""
    order = Order.objects.filter(pk=order_id).values("public_id", "region_id", "account_id").first()
    if order is None:
        return "", []
    sites = OrderLine.objects.filter(order_id=order_id, site__isnull=False).values_list("site_id", flat=True)
    names = [EVERYTHING, f"backoffice-region-{order['region_id']}", f"backoffice-account-{order['account_id']}"]
    names += [f"backoffice-site-{pk}" for pk in sorted(set(sites))]
    return str(order["public_id"]), names


def backoffice_push(*, order_id: int, topic: str, left_site_id: int | None = None) -> None:
    """Tell every group whose people may see the order; `left_site_id`: a site the order's line
    just left, whose people saw the order until now (their pages drop it)."""
    layer = get_channel_layer()
    if layer is None:
        return
    public_id, names = order_group_names(order_id)
    if left_site_id is not None and public_id and f"backoffice-site-{left_site_id}" not in names:
        names.append(f"backoffice-site-{left_site_id}")
    message = {"type": "backoffice.changed", "topic": topic, "order": public_id}
    for name in names:
        async_to_sync(layer.group_send)(name, message)


def backoffice_push_change(event: OutboxEvent) -> None:
    if event.order_id is not None:
        # A line moved to another site (line.edited) names the site it left.
        left_site_id = event.payload.get("previous_site_id")
        backoffice_push(order_id=event.order_id, topic=event.topic, left_site_id=left_site_id)


def backoffice_nudge(*, line_ids) -> None:
    """After the current transaction commits, tell the pages of the lines' people that a case or
    a request on them changed (a best effort: a page that misses it catches up at its next poll)."""
    line_ids = list(line_ids)

    def push() -> None:
        try:
            for order_id in sorted(set(OrderLine.objects.filter(pk__in=line_ids).values_list("order_id", flat=True))):
                backoffice_push(order_id=order_id, topic=CASE_CHANGED)
        except Exception:  # noqa: BLE001  (the change is committed; a page misses one refresh)
            logger.warning("live nudge for lines %s not sent", line_ids, exc_info=True)

    transaction.on_commit(push)


def register() -> None:
    register_handler(name="overrides.live", topics=TOPICS, handler=backoffice_push_change)


def _ids(user, permission: str, model) -> list[int]:
    return list(get_objects_for_user(user, permission, klass=model).values_list("pk", flat=True))
