"""Reads of the integrations app: how fresh each source's data is, and which inbound messages
a person may see."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from integrations.models import InboundMessage, SourceSystem
from orders.models import StatusEvent
from orders.scoping import orders_visible_to, sees_every_order


def inbound_messages_visible_to(user, queryset: QuerySet[InboundMessage] | None = None) -> QuerySet[InboundMessage]:
    """Messages that produced an event on an order in the person's scope, and their own uploads.

    A message names its orders through the events it produced (lineage); one that produced
    none yet (quarantined, dead, waiting) is seen only by people whose scope is everything."""
    queryset = InboundMessage.objects.all() if queryset is None else queryset
    if sees_every_order(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    about_scope = StatusEvent.objects.filter(inbound_message_id=OuterRef("pk"), order__in=orders_visible_to(user))
    return queryset.filter(Exists(about_scope) | Q(uploaded_by=user))


def sources_with_freshness() -> QuerySet[SourceSystem]:
    """Sources annotated with last_received_at and last_processed_at (one query)."""
    return SourceSystem.objects.annotate(
        last_received_at=Max("messages__received_at"), last_processed_at=Max("messages__processed_at")
    )


@dataclass(frozen=True)
class Freshness:
    code: str
    last_received_at: datetime | None
    last_processed_at: datetime | None
    overdue: bool


def source_freshness() -> list[Freshness]:
    now = timezone.now()
    return [
        Freshness(
            code=source.code,
            last_received_at=source.last_received_at,
            last_processed_at=source.last_processed_at,
            overdue=is_overdue(source, now=now),
        )
        for source in sources_with_freshness().filter(active=True).order_by("code")
    ]


def is_overdue(source: SourceSystem, *, now: datetime) -> bool:
    """Nothing received for longer than the source's expected interval (needs the annotation)."""
    return source.last_received_at is None or now - source.last_received_at > source.expected_interval
