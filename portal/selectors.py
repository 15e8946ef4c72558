"""Reads of the portal: search within the viewer's scope, list rows, technicians' incoming parts."""

from collections import Counter, defaultdict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from orders.models import LineReference, Order, OrderLine, ShipmentLine
from orders.scoping import lines_for_technician, orders_visible_to_customer
from orders.status import RANK, LineStatus, customer_status

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


def portal_orders(user, *, query: str = "") -> QuerySet[Order]:
    """The person's orders, newest change first; `query` finds an order number, the customer's
    PO or reference, an asset serial number or a part number (exact, as printed; any case)."""
    orders = orders_visible_to_customer(user).select_related("account", "asset").order_by("-updated_at", "-id")
    query = query.strip()
    if not query:
        return orders
    values = list({query, query.upper()})
    with_part = OrderLine.objects.filter(order=OuterRef("pk"), part__number__in=values)
    with_po = LineReference.objects.filter(
        line__order=OuterRef("pk"), kind=LineReference.Kind.PURCHASE_ORDER, value__in=values
    )
    return orders.filter(
        Q(number__in=values)
        | Q(customer_reference__in=values)
        | Q(asset__serial_number__in=values)
        | Exists(with_part)
        | Exists(with_po)
    )


def order_rows(orders: list[Order]) -> dict[int, dict]:
    """What a list row says beside the order (counts for the summary), for a page of orders in one query."""
    leaves = defaultdict(list)
    for order_id, status, before in OrderLine.objects.filter(
        order_id__in=[order.pk for order in orders], is_split=False
    ).values_list("order_id", "status", "status_before_interruption"):
        leaves[order_id].append((status, before or status))
    rows = {}
    for order in orders:
        active = [(status, path) for status, path in leaves[order.pk] if status != LineStatus.CANCELLED]
        shipped = [item for item in active if RANK.get(item[1], -1) >= SHIPPED_RANK]
        waiting = Counter(customer_status(status) for status, path in active if (status, path) not in shipped)
        rows[order.pk] = {"total": len(active), "shipped": len(shipped), "waiting": dict(sorted(waiting.items()))}
    return rows


def incoming_parts(user) -> list[OrderLine]:
    """The technician's incoming parts: leaf lines of their jobs not cancelled, soonest first."""
    shipments = ShipmentLine.objects.select_related("shipment").order_by("-shipment__updated_at")
    lines = (
        lines_for_technician(user)
        .filter(is_split=False)
        .exclude(status=LineStatus.CANCELLED)
        .select_related("order", "part", "site", "order__asset")
        .prefetch_related(Prefetch("shipment_lines", queryset=shipments))
    )
    return sorted(lines, key=lambda line: (line.status == LineStatus.VERIFIED, line.eta is None, line.eta, line.pk))
