"""Discrepancy cases: opened once per disagreement, owned, escalated, resolved."""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.models import OrderLine, StatusEvent
from orders.status import LineStatus
from overrides.models import Discrepancy


def discrepancy_open(
    *, kind: str, line: OrderLine, summary: str, evidence: list[StatusEvent], fingerprint: str, rule=None, now=None
) -> Discrepancy | None:
    """Open a case unless one with the same fingerprint exists (then None)."""
    now = now or timezone.now()
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()
    try:
        with transaction.atomic():
            discrepancy = Discrepancy.objects.create(
                kind=kind,
                line=line,
                rule=rule,
                summary=summary[:300],
                opened_at=now,
                due_at=now + timedelta(minutes=settings.DISCREPANCY_RESPONSE_MINUTES),
                fingerprint=digest,
            )
    except IntegrityError:
        return None
    discrepancy.evidence.set(evidence)
    return discrepancy


def discrepancy_open_for_contested_override(*, line_id: int, event_id: int, held_status: str) -> Discrepancy | None:
    event = StatusEvent.objects.select_related("line__order").get(pk=event_id)
    reported = LineStatus(event.to_status).label
    held = LineStatus(held_status).label if held_status else "?"
    return discrepancy_open(
        kind=Discrepancy.Kind.OVERRIDE_CONTESTED,
        line=event.line,
        summary=f"{event.source_system or event.actor_label} reports {reported}; an override holds {held}",
        evidence=[event],
        fingerprint=f"contested:{line_id}:{event_id}",
    )


def discrepancy_resolve(*, discrepancy_id: int, user, resolution: str, override=None) -> Discrepancy:
    with transaction.atomic():
        discrepancy = Discrepancy.objects.select_for_update().get(pk=discrepancy_id)
        discrepancy.resolved_at = timezone.now()
        discrepancy.resolved_by = user
        discrepancy.resolution = resolution
        discrepancy.override = override
        discrepancy.save(update_fields=["resolved_at", "resolved_by", "resolution", "override"])
        return discrepancy
