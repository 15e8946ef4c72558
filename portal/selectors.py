"""Reads of the portal: search within the viewer's scope, list rows, technicians' incoming parts."""

from collections import Counter, defaultdict

from django.db.models import Exists, F, Func, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Replace, Upper
from django.db.models.lookups import EndsWith, Exact, StartsWith

from orders.models import Account, EventSuppression, LineReference, Order, OrderLine, Shipment, ShipmentLine
from orders.read_models import Audience, order_view
from orders.scoping import accounts_followed_by, lines_for_technician, orders_visible_to_customer
from orders.status import RANK, LineStatus, customer_status

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


# Shorter queries are matched whole only: "47" would match half the orders by their ends.
PARTIAL_MIN = 3


def search_key(value) -> Func:
    """A column or text as search compares it: upper case, without dashes and spaces."""
    return Upper(Replace(Replace(value, Value("-"), Value("")), Value(" "), Value("")))


def _matches(field: str, key: str, *, ends: bool = False) -> Q:
    """`field` (normalized) is `key`, or begins with it (or ends with it: "4711" for SO-DEMO-4711)."""
    expression = search_key(F(field))
    if len(key) < PARTIAL_MIN:
        return Q(Exact(expression, key))
    found = Q(StartsWith(expression, key))
    return found | Q(EndsWith(expression, key)) if ends else found


def portal_orders(user, *, query: str = "", account: str = "") -> QuerySet[Order]:
    """The person's orders, newest change first; `query` finds an order number, the customer's
    PO or reference, an asset serial number, a part number, a shipment's tracking number or
    (part of) the account's name,
    written with or without dashes and spaces, in any case, by its beginning (order numbers and
    POs also by their end). Only the person's orders are searched (the scope is applied first):
    a number alone never reveals another account's order. Lines, references and shipments are
    reached through their order (indexed foreign keys), never scanned whole."""
    orders = orders_visible_to_customer(user).select_related("account", "asset").order_by("-updated_at", "-id")
    if account:
        orders = orders.filter(account__number=account)
    key = "".join(query.split()).replace("-", "").upper()
    if not key:
        return orders
    with_part = OrderLine.objects.filter(Q(order=OuterRef("pk")) & _matches("part__number", key))
    with_po = LineReference.objects.filter(
        Q(line__order=OuterRef("pk"), kind=LineReference.Kind.PURCHASE_ORDER) & _matches("value", key, ends=True)
    )
    with_tracking = Shipment.objects.filter(Q(order=OuterRef("pk")) & _matches("tracking_number", key))
    return orders.filter(
        _matches("number", key, ends=True)
        | _matches("customer_reference", key, ends=True)
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
