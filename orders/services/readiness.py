"""Ship-complete lines: a partial confirmation records how much is ready, and the line waits.

The line moves (through apply_status_update) only when the last of it is confirmed. Each
confirmation is recorded as an event of kind READY, so the same confirmation twice counts once.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import EventKind, EventOutcome, Order, OrderLine, StatusEvent
from orders.services.events import Actor, Provenance, fact_key, status_event_build
from orders.services.status import DUPLICATE, StatusUpdateResult, apply_status_update, validate_fact

READY_REASON = "partial_ready"


def line_ready_record(
    *,
    line_id: int,
    quantity: int,
    status: str,
    occurred_at: datetime,
    actor: Actor,
    provenance: Provenance,
    received_at: datetime | None = None,
) -> StatusUpdateResult:
    """Add `quantity` to what is ready of the line. While some of it is still missing the line
    keeps its status ("6 of 10 ready"); the confirmation that completes it applies `status`."""
    now = timezone.now()
    validate_fact(status=status, occurred_at=occurred_at, received_at=received_at or now)
    fact_id = f"ready:{quantity}"
    with transaction.atomic():
        order_id = OrderLine.objects.values_list("order_id", flat=True).get(pk=line_id)
        Order.objects.select_for_update().filter(pk=order_id).first()
        line = OrderLine.objects.select_for_update().get(pk=line_id)
        key = fact_key(
            line_id=line.pk,
            status=status,
            occurred_at=occurred_at,
            source_system=provenance.source_system,
            fact_id=fact_id,
        )
        existing = StatusEvent.objects.filter(line=line, fact_key=key).first()
        if existing is not None:
            return StatusUpdateResult(event=existing, outcome=DUPLICATE)
        ready = min(line.quantity, line.quantity_ready + quantity)
        line.quantity_ready = ready
        if ready >= line.quantity:
            line.save(update_fields=["quantity_ready", "updated_at"])
            # The line is complete when its last part was ready by the source's clock, whichever
            # confirmation arrived last: the same confirmations give the same status time.
            earlier = StatusEvent.objects.filter(line=line, kind=EventKind.READY).values_list("occurred_at", flat=True)
            return apply_status_update(
                line_id=line.pk,
                status=status,
                occurred_at=max([occurred_at, *earlier]),
                actor=actor,
                provenance=provenance,
                fact_id="ready:complete",
                received_at=received_at,
            )
        event = status_event_build(
            line=line,
            from_status=line.status,
            to_status=line.status,
            outcome=EventOutcome.UNCHANGED,
            occurred_at=occurred_at,
            received_at=received_at or now,
            applied_at=None,
            actor=actor,
            provenance=Provenance(
                source_system=provenance.source_system,
                inbound_message_id=provenance.inbound_message_id,
                reason_code=READY_REASON,
                reason_text=_("%(ready)d of %(quantity)d ready; ship complete, the line waits (%(status)s).")
                % {"ready": ready, "quantity": line.quantity, "status": status},
            ),
            key=key,
            kind=EventKind.READY,
        )
        event.save()
        line.save(update_fields=["quantity_ready", "audit_sequence", "audit_head", "updated_at"])
        return StatusUpdateResult(event=event, outcome=EventOutcome.UNCHANGED)
