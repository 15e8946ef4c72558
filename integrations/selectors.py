"""Reads of the integrations app: how fresh each source's data is."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, QuerySet
from django.utils import timezone

from integrations.models import SourceSystem


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
