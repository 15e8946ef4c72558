"""The one way a line's status changes: apply_status_update, and the override for people."""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed, has_transition_perm

from orders.models import ActorKind, EventOutcome, Order, OrderLine, StatusEvent
from orders.models.order import TRANSITION_FOR_STATUS
from orders.publication import Topic
from orders.services.events import Actor, Provenance, fact_key, status_event_record, unique_fact_key
from orders.services.outbox import outbox_publish
from orders.services.rollup import order_rollup_refresh, rolled_up_status
from orders.status import LineStatus, is_forward

DUPLICATE = "duplicate"
NO_PROVENANCE = Provenance()
LINE_STATUS_FIELDS = [
    "status",
    "status_before_interruption",
    "status_occurred_at",
    "status_changed_at",
    "held_status",
    "audit_sequence",
    "audit_head",
    "updated_at",
]


@dataclass(frozen=True)
class StatusUpdateResult:
    event: StatusEvent
    # an EventOutcome, or DUPLICATE when the same fact had already been recorded
    outcome: str

    @property
    def changed(self) -> bool:
        return self.outcome == EventOutcome.APPLIED


def apply_status_update(
    *,
    line_id: int,
    status: str,
    occurred_at: datetime,
    actor: Actor,
    provenance: Provenance = NO_PROVENANCE,
    fact_id: str = "",
    received_at: datetime | None = None,
    publish: bool = True,
) -> StatusUpdateResult:
    """Record a status fact about a leaf line and apply it when it moves the line on.

    - The same fact (line, status, source time, source, fact_id) twice: nothing happens the
      second time; the first event is returned with outcome DUPLICATE.
    - A forward move along the path always applies: the part got at least that far, whatever
      the clocks of two systems say.
    - Any other legal move (hold, exception, cancel, backorder, resume) applies only when it is
      not older than the fact behind the current status; otherwise it is recorded as STALE.
    - A backward move along the path is recorded as STALE; anything else illegal as REJECTED.
      Backward moves happen only through line_status_override.
    `publish=False` is for importing history (no notifications for facts of the past).
    """
    validate_fact(status=status, occurred_at=occurred_at, received_at=received_at)
    now = timezone.now()
    with transaction.atomic():
        line = _lock_leaf(line_id)
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

        from_status = line.status
        outcome = line_fact_take(line, status=status, occurred_at=occurred_at, actor=actor, now=now)
        if outcome != EventOutcome.APPLIED:
            # Only the chain head moves: not a change worth a history row.
            line.skip_history_when_saving = True
        event = status_event_record(
            line=line,
            from_status=from_status,
            to_status=status,
            outcome=outcome,
            occurred_at=occurred_at,
            received_at=received_at or now,
            applied_at=now if outcome == EventOutcome.APPLIED else None,
            actor=actor,
            provenance=provenance,
            key=key,
        )
        line.save(update_fields=LINE_STATUS_FIELDS)
        if outcome == EventOutcome.APPLIED:
            _after_change(line=line, event=event, publish=publish)
        elif outcome == EventOutcome.CONTESTED and publish:
            outbox_publish(
                topic=Topic.OVERRIDE_CONTESTED,
                order=line.order,
                payload={**event_payload(line, event), "held_status": line.held_status},
            )
        return StatusUpdateResult(event=event, outcome=outcome)


def line_status_override(
    *,
    line_id: int,
    status: str,
    actor: Actor,
    reason_code: str,
    reason_text: str,
    occurred_at: datetime | None = None,
    reference: str = "",
    approved_by=None,
    hold_until_source_confirms: bool = False,
) -> StatusUpdateResult:
    """A person sets a line's status, backwards included. Needs the override permission
    (globally or on the line) and a written justification. `approved_by` is the second person
    of a four-eyes override; `hold_until_source_confirms` keeps a later source fact that
    disagrees from flipping the status back (it is recorded as contested instead)."""
    if actor.user is None or not reason_text.strip():
        raise ValidationError({"reason_text": _("An override needs a person and a written justification.")})
    if status not in LineStatus.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
    now = timezone.now()
    with transaction.atomic():
        line = _lock_leaf(line_id)
        if not has_transition_perm(line.override, actor.user):
            raise PermissionDenied(_("You may not override the status of this line."))
        if line.status == status:
            raise ValidationError({"status": _("The line already has this status.")})
        from_status = line.status
        line.override(status)
        line.status_occurred_at = occurred_at or now
        line.status_changed_at = now
        line.held_status = status if hold_until_source_confirms else ""
        event = status_event_record(
            line=line,
            from_status=from_status,
            to_status=status,
            outcome=EventOutcome.APPLIED,
            occurred_at=occurred_at or now,
            received_at=now,
            applied_at=now,
            actor=actor,
            provenance=Provenance(source_system=reference, reason_code=reason_code, reason_text=reason_text),
            key=unique_fact_key(),
            approved_by=approved_by,
        )
        line.save(update_fields=LINE_STATUS_FIELDS)
        _after_change(line=line, event=event, publish=True)
        return StatusUpdateResult(event=event, outcome=EventOutcome.APPLIED)


def line_fact_take(line: OrderLine, *, status: str, occurred_at: datetime, actor: Actor, now: datetime) -> str:
    """Decide what a fact does to a (locked) line and, when it applies, make the move in
    memory. The one decision shared by the single and the bulk path. Returns the outcome."""
    outcome = _decide(line, status=status, occurred_at=occurred_at)
    if line.held_status and actor.kind == ActorKind.INTEGRATION:
        if status == line.held_status or is_forward(line.held_status, status):
            line.held_status = ""  # the source confirms the override (or has moved past it)
        elif outcome != EventOutcome.STALE:
            outcome = EventOutcome.CONTESTED
    if outcome == EventOutcome.APPLIED:
        getattr(line, TRANSITION_FOR_STATUS[status])()
        line.status_occurred_at = max(filter(None, [line.status_occurred_at, occurred_at]))
        line.status_changed_at = now
    return outcome


class LineIsSplit(ValidationError):
    """Status facts go to the child lines of a split, never to the parent."""


def validate_fact(*, status: str, occurred_at: datetime, received_at: datetime | None) -> None:
    if status not in LineStatus.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
    if status == LineStatus.RECEIVED:
        raise ValidationError({"status": _("“received” is where a line starts; no fact can move it there.")})
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("The time of the fact needs a time zone.")})
    if received_at is not None and timezone.is_naive(received_at):
        raise ValidationError({"received_at": _("The time of receipt needs a time zone.")})


def _lock_leaf(line_id: int) -> OrderLine:
    # Fixed lock order everywhere: line, then its split ancestors, then the order.
    line = OrderLine.objects.select_for_update().get(pk=line_id)
    if line.is_split:
        raise LineIsSplit(
            {"line": _("Line %(line)s is split; status facts belong to its child lines.") % {"line": line.number}}
        )
    return line


def _decide(line: OrderLine, *, status: str, occurred_at: datetime) -> str:
    if status == line.status:
        return EventOutcome.UNCHANGED
    transition_method = getattr(line, TRANSITION_FOR_STATUS[status])
    if can_proceed(transition_method):
        if is_forward(line.status, status):
            return EventOutcome.APPLIED
        if line.status_occurred_at and occurred_at < line.status_occurred_at:
            return EventOutcome.STALE
        return EventOutcome.APPLIED
    if is_forward(status, line.progress_status):
        return EventOutcome.STALE  # behind where the line is (or was, before a hold): late news
    return EventOutcome.REJECTED


def _after_change(*, line: OrderLine, event: StatusEvent, publish: bool) -> None:
    split_ancestors_refresh(line=line, occurred_at=event.occurred_at)
    order = order_rollup_refresh(order_id=line.order_id)
    if publish:
        outbox_publish(topic=Topic.LINE_STATUS_CHANGED, order=order, payload=change_payload(line, event, order))


def split_ancestors_refresh(*, line: OrderLine, occurred_at: datetime) -> None:
    """Walk up the split tree, giving each parent the rolled-up status of its children."""
    now = timezone.now()
    parent_id = line.parent_id
    while parent_id is not None:
        parent = OrderLine.objects.select_for_update().get(pk=parent_id)
        children = list(OrderLine.objects.filter(parent_id=parent_id).values_list("status", flat=True))
        new_status = rolled_up_status(children)
        if new_status == parent.status:
            return
        from_status = parent.status
        parent.take_rollup_status(new_status)
        parent.status_occurred_at = occurred_at
        parent.status_changed_at = now
        status_event_record(
            line=parent,
            from_status=from_status,
            to_status=new_status,
            outcome=EventOutcome.APPLIED,
            occurred_at=occurred_at,
            received_at=now,
            applied_at=now,
            actor=Actor.system("rollup"),
            provenance=Provenance(reason_code="rollup"),
            key=unique_fact_key(),
        )
        parent.save(update_fields=LINE_STATUS_FIELDS)
        parent_id = parent.parent_id


def change_payload(line: OrderLine, event: StatusEvent, order: Order) -> dict:
    return {
        **event_payload(line, event),
        "order_status": order.status,
        "progress_percent": str(order.progress_percent),
        "is_test": order.is_test,
    }


def event_payload(line: OrderLine, event: StatusEvent) -> dict:
    return {
        "order_id": line.order_id,
        "order_number": line.order.number,
        "line_id": line.pk,
        "line_number": line.number,
        # What a consumer outside the back office may use to name the order and the line.
        "order_public_id": str(line.order.public_id),
        "line_public_id": str(line.public_id),
        "event_id": event.pk,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_kind": event.actor_kind,
        "source_system": event.source_system,
        "inbound_message_id": event.inbound_message_id,
    }
