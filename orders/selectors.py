"""Reads of the status core that are more than a one-line query: lists, details, summaries."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orders.models import (
    DeliveryState,
    LineReference,
    Order,
    OrderLine,
    OutboxDelivery,
    Shipment,
    ShipmentLine,
    StatusDefinition,
    StatusEvent,
)
from orders.status import IN_SENTENCE, RANK, LineStatus

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


def order_list() -> QuerySet[Order]:
    """Orders with what a list row shows, in one query."""
    return Order.objects.select_related("account", "region")


@dataclass
class OrderDetail:
    order: Order
    lines: list[OrderLine]
    events: list[StatusEvent]
    shipments: list[Shipment] = field(default_factory=list)
    children_of: dict[int | None, list[OrderLine]] = field(default_factory=dict)

    @property
    def top_lines(self) -> list[OrderLine]:
        return self.children_of.get(None, [])

    @property
    def leaves(self) -> list[OrderLine]:
        return [line for line in self.lines if not line.is_split]

    @property
    def summary(self) -> str:
        return order_summary(self.leaves)


def order_detail(order: Order) -> OrderDetail:
    """The order with every line (split tree included) and its timeline, in a fixed number of queries."""
    lines = list(
        OrderLine.objects.filter(order=order)
        .select_related("part", "site")
        .prefetch_related("references")
        .order_by("number")
    )
    children_of: dict[int | None, list[OrderLine]] = defaultdict(list)
    for line in sorted(lines, key=lambda line: _line_sort_key(line.number)):
        children_of[line.parent_id].append(line)
    events = list(
        StatusEvent.objects.filter(order=order)
        .select_related("line", "actor_user")
        .order_by("occurred_at", "line__number", "sequence")
    )
    shipments = list(
        Shipment.objects.filter(order=order)
        .select_related("ship_from")
        .prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("line").order_by("line__number"))
        )
        .order_by("created_at", "pk")
    )
    return OrderDetail(order=order, lines=lines, events=events, shipments=shipments, children_of=dict(children_of))


def status_definitions() -> dict[str, StatusDefinition]:
    """The vocabulary table by code, one query."""
    return {definition.code: definition for definition in StatusDefinition.objects.all()}


def order_summary(leaves: list[OrderLine]) -> str:
    """A sentence a planner reads at a glance: "2 of 3 lines shipped, 1 awaiting part at DC Rotterdam"."""
    active = [line for line in leaves if line.status != LineStatus.CANCELLED]
    if not active:
        return _("All lines cancelled")
    shipped = {line.pk for line in active if RANK.get(line.progress_status, -1) >= SHIPPED_RANK}
    pieces = [
        ngettext(
            "%(shipped)d of %(total)d line shipped",
            "%(shipped)d of %(total)d lines shipped",
            len(active),
        )
        % {"shipped": len(shipped), "total": len(active)}
    ]
    waiting = Counter((line.status, line.site.name if line.site else "") for line in active if line.pk not in shipped)
    for (status, site_name), count in sorted(waiting.items(), key=lambda item: (-item[1], item[0])):
        label = IN_SENTENCE[status]
        if site_name:
            pieces.append(_("%(count)d %(status)s at %(site)s") % {"count": count, "status": label, "site": site_name})
        else:
            pieces.append(_("%(count)d %(status)s") % {"count": count, "status": label})
    return ", ".join(pieces)


def _line_sort_key(number: str) -> tuple:
    """10 < 10.1 < 10.2 < 20 < 100: numbers compare as numbers, part by part."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in number.split("."))


@dataclass(frozen=True)
class SearchHit:
    """One thing a search found: what matched, on which order, and on which line when the
    number belongs to a line."""

    kind: str
    order: Order
    line: OrderLine | None = None
    matched: str = ""

    @property
    def kind_label(self) -> str:
        return str(SEARCH_KINDS.get(self.kind, self.kind))


SEARCH_KINDS = {
    "order_number": gettext_lazy("Order number"),
    "customer_reference": gettext_lazy("Customer reference"),
    "asset": gettext_lazy("Asset serial number"),
    "shipment": gettext_lazy("Shipment (tracking, bill of lading, PRO)"),
    "part": gettext_lazy("Part number"),
    **dict(LineReference.Kind.choices),
}
SEARCH_LIMIT = 50
_ORDER_RELATED = ("account", "region", "asset")
_LINE_RELATED = ("order__account", "order__region", "order__asset", "part", "site")


def order_search(query: str, orders: QuerySet[Order]) -> list[SearchHit]:
    """Orders and lines among `orders` (the caller's scope) that a number names exactly: order
    number, customer reference or PO, asset serial number, tracking number, bill of lading or
    PRO, part number, or any reference a system knows a line by. Numbers are matched as typed,
    in upper or in lower case (every lookup uses an index). A fixed number of queries."""
    text = query.strip()
    if not text or len(text) > 80:
        return []
    values = sorted({text, text.upper(), text.lower()})
    scoped = orders.select_related(*_ORDER_RELATED)
    hits = [SearchHit("order_number", order, matched=order.number) for order in scoped.filter(number__in=values)]
    hits += [
        SearchHit("customer_reference", order, matched=order.customer_reference)
        for order in scoped.filter(customer_reference__in=values).order_by("-created_at")[:SEARCH_LIMIT]
    ]
    hits += [
        SearchHit("asset", order, matched=order.asset.serial_number)
        for order in scoped.filter(asset__serial_number__in=values).order_by("-created_at")[:SEARCH_LIMIT]
    ]
    shipments = (
        Shipment.objects.filter(order__in=orders)
        .filter(Q(tracking_number__in=values) | Q(bill_of_lading__in=values) | Q(pro_number__in=values))
        .select_related(*(f"order__{name}" for name in _ORDER_RELATED))
        .prefetch_related(Prefetch("lines", queryset=ShipmentLine.objects.select_related("line__part")))
    )
    for shipment in shipments[:SEARCH_LIMIT]:
        carried = [shipment_line.line for shipment_line in shipment.lines.all()]
        matched = next(number for number in shipment.numbers if number in values)
        hits.append(SearchHit("shipment", shipment.order, carried[0] if len(carried) == 1 else None, matched))
    references = (
        LineReference.objects.filter(kind__in=LineReference.Kind.values, value__in=values, line__order__in=orders)
        .select_related(*(f"line__{name}" for name in _LINE_RELATED))
        .order_by("line_id")
    )
    hits += [
        SearchHit(reference.kind, reference.line.order, reference.line, reference.value)
        for reference in references[:SEARCH_LIMIT]
    ]
    part_lines = (
        OrderLine.objects.filter(order__in=orders, part__number__in=values, is_split=False)
        .select_related(*_LINE_RELATED)
        .order_by("-order__created_at", "number")
    )
    hits += [SearchHit("part", line.order, line, line.part.number) for line in part_lines[:SEARCH_LIMIT]]
    return _distinct(hits)


def search_target(hits: list[SearchHit]) -> tuple[Order, OrderLine | None] | None:
    """Where an exact hit leads: its line when every hit names the same line, its order when they
    all are on one order; None when the hits are on several orders (or there are none)."""
    if not hits or len({hit.order.pk for hit in hits}) != 1:
        return None
    lines = {hit.line.pk if hit.line else None for hit in hits}
    if len(lines) == 1 and None not in lines:
        return hits[0].order, hits[0].line
    return hits[0].order, None


def _distinct(hits: list[SearchHit]) -> list[SearchHit]:
    seen, kept = set(), []
    for hit in hits:
        key = (hit.order.pk, hit.line.pk if hit.line else None)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


@dataclass(frozen=True)
class OutboxBacklog:
    dead: int  # deliveries that failed every attempt: a person looks, then redelivers
    overdue: int  # deliveries due for longer than OUTBOX_OVERDUE_SECONDS: no worker takes them


def outbox_backlog(*, now=None) -> OutboxBacklog:
    """Counts for /health/, each from its own small partial index."""
    now = now or timezone.now()
    overdue_before = now - timedelta(seconds=settings.OUTBOX_OVERDUE_SECONDS)
    return OutboxBacklog(
        dead=OutboxDelivery.objects.filter(state=DeliveryState.DEAD).count(),
        overdue=OutboxDelivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lt=overdue_before).count(),
    )
