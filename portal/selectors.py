"""Reads of the portal: search within the viewer's scope, list rows, technicians' incoming parts."""

from collections import Counter, defaultdict

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.lookups import EndsWith, Exact, StartsWith

from orders.models import Account, EventSuppression, LineReference, Order, OrderLine, Part, Shipment, ShipmentLine
from orders.read_models import Audience, order_view
from orders.scoping import accounts_followed_by, lines_for_technician, orders_visible_to_customer
from orders.search_keys import search_key, search_text
from orders.status import RANK, LineStatus, customer_status

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


# Shorter queries are matched whole only: "47" would match half the orders by their ends.
PARTIAL_MIN = 3


def _matches(field: str, key: str, *, partial: bool = True) -> Q:
    """`field` (normalized) is `key`; or, `partial`, begins or ends with it ("4711" for
    SO-DEMO-4711): only for columns of the viewer's orders, which the scope has narrowed."""
    expression = search_key(field)
    if not partial or len(key) < PARTIAL_MIN:
        return Q(Exact(expression, key))
    return Q(StartsWith(expression, key)) | Q(EndsWith(expression, key))


def portal_orders(user, *, query: str = "", account: str = "") -> QuerySet[Order]:
    """The person's orders, newest change first; `query` finds an order number or the customer's
    reference (whole, or by its beginning or end: "4711", "88123"), an asset serial number, a
    part number, a line's PO or a shipment's tracking number (whole), or (part of) the account's
    name; always without regard to dashes, spaces or case. Only the person's orders are searched
    (the scope is applied first): a number alone never reveals another account's order. Part,
    line reference and tracking numbers are looked up by their indexed search keys
    (orders.search_keys), never by scanning their tables."""
    orders = orders_visible_to_customer(user).select_related("account", "asset").order_by("-updated_at", "-id")
    if account:
        orders = orders.filter(account__number=account)
    key = search_text(query)
    if not key:
        return orders
    # Whole values of the large tables, by their indexed search key.
    with_part = OrderLine.objects.filter(
        order=OuterRef("pk"), part__in=Part.objects.filter(_matches("number", key, partial=False))
    )
    with_po = LineReference.objects.filter(
        Q(line__order=OuterRef("pk"), kind=LineReference.Kind.PURCHASE_ORDER) & _matches("value", key, partial=False)
    )
    with_tracking = Shipment.objects.filter(Q(order=OuterRef("pk")) & _matches("tracking_number", key, partial=False))
    return orders.filter(
        _matches("number", key)
        | _matches("customer_reference", key)
        | _matches("asset__serial_number", key)
        | Exists(with_part)
        | Exists(with_po)
        | Exists(with_tracking)
        | (Q(account__name__icontains=query.strip()) if len(key) >= PARTIAL_MIN else Q(pk__in=[]))
    )


def follows_a_dealer(user) -> bool:
    """A dealer person: their orders are their customers', whose references are not theirs."""
    return accounts_followed_by(user).filter(kind=Account.Kind.DEALER).exists()


def portal_accounts(user) -> list[Account]:
    """The customer accounts whose orders a dealer person sees (several: the list names each
    order's account and may be filtered by one); [] for a person of one customer."""
    if not follows_a_dealer(user):
        return []
    followed = accounts_followed_by(user)
    return list(followed.exclude(kind=Account.Kind.DEALER).order_by("name").only("number", "name"))


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


def views_with_hidden_changes(orders: list[Order]) -> dict[int, dict]:
    """{order id: customer view} of the orders with a status change hidden from customers (rare):
    their list row shows what their page shows. One query for a page without any."""
    hidden = set(
        EventSuppression.objects.filter(event__order_id__in=[order.pk for order in orders]).values_list(
            "event__order_id", flat=True
        )
    )
    return {order.pk: order_view(order, audience=Audience.CUSTOMER) for order in orders if order.pk in hidden}


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
