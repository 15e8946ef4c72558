"""Reads of the status core that are more than a one-line query: lists, details, summaries."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import (
    DeliveryState,
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
