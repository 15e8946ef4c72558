"""The one way a line's status changes: apply_status_update, and the override for people.

Both judge the fact with orders.services.decide (the rules are written down there) and write
the result in one transaction, taking the one lock order: the order, then its lines by id.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import has_transition_perm

from orders.clocks import clock_tolerances
from orders.models import ActorKind, EventKind, EventOutcome, Order, OrderLine, StatusEvent
from orders.publication import status_change_hooks_run
from orders.read_models.freshness import views_changed
from orders.services.decide import Fact
from orders.services.events import Actor, Provenance, fact_key, unique_fact_key
from orders.services.facts import LINE_STATUS_FIELDS, ORDER_ROLLUP_FIELDS, LineChange, event_payload, fact_take
from orders.services.locking import LockedOrder, order_lock_for_line
from orders.services.outbox import outbox_dispatch_after_commit, outbox_rows_create, outbox_rows_to_deliver
from orders.services.rows import rows_update
from orders.services.writes import rows_write_in_one_statement
from orders.status import LineStatus

DUPLICATE = "duplicate"
# Above this many events a batch is written table by table (PostgreSQL's parameter limit).
ONE_STATEMENT_MAX_EVENTS = 800
NO_PROVENANCE = Provenance()
__all__ = ["LINE_STATUS_FIELDS", "event_payload"]


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
    sequence: int | None = None,
    clock_tolerance: timedelta | None = None,
) -> StatusUpdateResult:
    """Record a status fact about a leaf line and apply it as orders.services.decide rules.

    - The same fact (line, status, source time, source, fact_id) twice: nothing happens the
      second time; the first event is returned with outcome DUPLICATE.
    - Otherwise one event records the fact with its outcome (applied, unchanged, stale,
      rejected, contested, remembered), whatever order facts arrive in.
    - A fact dated more than FACT_MAX_FUTURE after its receipt raises FactFromTheFuture.
    `sequence` is the source's own sequence number (ties of equal time); `clock_tolerance` how far
    the source's clock may be off (looked up for the source when not given, as a replay does).
    `publish=False` is for importing history (no notifications).
    """
    now = timezone.now()
    received_at = received_at or now
    validate_fact(status=status, occurred_at=occurred_at, received_at=received_at)
    key = fact_key(
        line_id=line_id,
        status=status,
        occurred_at=occurred_at,
        source_system=provenance.source_system,
        fact_id=fact_id,
    )
    fact = Fact(
        status=status,
        occurred_at=occurred_at,
        key=key,
        sequence=sequence,
        from_integration=actor.kind == ActorKind.INTEGRATION,
        clock_tolerance=source_clock_tolerance(provenance.source_system, clock_tolerance),
        source=provenance.source_system,
    )
    with transaction.atomic():
        locked = order_lock_for_line(line_id=line_id, fact_key=key)
        line = _leaf(locked, line_id)
        if locked.fact_recorded:
            return StatusUpdateResult(event=StatusEvent.objects.get(line=line, fact_key=key), outcome=DUPLICATE)
        change = fact_take(
            locked=locked,
            line=line,
            fact=fact,
            actor=actor,
            provenance=provenance,
            received_at=received_at,
            now=now,
            publish=publish,
        )
        changes_write(locked_orders=[locked], changes=[change])
        return StatusUpdateResult(event=change.event, outcome=change.outcome)


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
    disagrees from flipping the status back (it is recorded as contested instead). The override
    is a fact at its own time (now, unless given) judged like any other."""
    if actor.user is None or not reason_text.strip():
        raise ValidationError({"reason_text": _("An override needs a person and a written justification.")})
    if status not in LineStatus.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
    now = timezone.now()
    with transaction.atomic():
        locked = order_lock_for_line(line_id=line_id)
        line = _leaf(locked, line_id)
        if not has_transition_perm(line.override, actor.user):
            raise PermissionDenied(_("You may not override the status of this line."))
        if line.status == status:
            raise ValidationError({"status": _("The line already has this status.")})
        fact = Fact(
            status=status,
            occurred_at=occurred_at or now,
            key=unique_fact_key(),
            kind=EventKind.HELD_OVERRIDE if hold_until_source_confirms else EventKind.OVERRIDE,
            from_integration=False,
            source=reference,
        )
        change = fact_take(
            locked=locked,
            line=line,
            fact=fact,
            actor=actor,
            provenance=Provenance(source_system=reference, reason_code=reason_code, reason_text=reason_text),
            received_at=now,
            now=now,
            approved_by=approved_by,
        )
        changes_write(locked_orders=[locked], changes=[change])
        return StatusUpdateResult(event=change.event, outcome=change.outcome)


def changes_write(*, locked_orders: list[LockedOrder], changes: list[LineChange]) -> None:
    """Write what fact_take decided: the events, each touched line once (history rows for the
    lines whose status changed), each changed order once, the outbox rows. On PostgreSQL that is
    one statement (orders.services.writes); elsewhere one per table."""
    if not changes:
        return
    events = [event for change in changes for event in change.events]
    touched = {line.pk: line for change in changes for line in change.touched_lines}
    changed = {line.pk: line for change in changes for line in change.changed_lines}
    written = {change.line.order_id for change in changes if change.changed_lines or change.outbox is not None}
    orders = [locked.order for locked in locked_orders if locked.order.pk in written]
    outbox = [(change.outbox, (change.event.line_id, change.event.fact_key)) for change in changes if change.outbox]
    if connection.vendor == "postgresql" and len(events) <= ONE_STATEMENT_MAX_EVENTS:
        rows_write_in_one_statement(
            events=events,
            lines=([touched[pk] for pk in sorted(touched)], LINE_STATUS_FIELDS),
            history=[changed[pk] for pk in sorted(changed)],
            orders=(orders, ORDER_ROLLUP_FIELDS),
            outbox=outbox,
        )
        outbox_dispatch_after_commit(outbox_rows_to_deliver([row for row, _key in outbox]))
    else:
        StatusEvent.objects.bulk_create(events)
        for change in changes:
            if change.outbox is not None:
                change.outbox.payload["event_id"] = change.event.pk
        rows_update(model=OrderLine, objects=[touched[pk] for pk in sorted(touched)], fields=LINE_STATUS_FIELDS)
        if changed:
            OrderLine.history.bulk_history_create([changed[pk] for pk in sorted(changed)], update=True)
        # Derived fields only: the event log says why they changed, so no history rows for them.
        rows_update(model=Order, objects=orders, fields=ORDER_ROLLUP_FIELDS)
        outbox_rows_create([row for row, _key in outbox])
    for order_id in sorted({change.line.order_id for change in changes if change.view_moved} - written):
        views_changed(order_id)
    # In this transaction: what other apps must change with the status (a stale alert it ends).
    status_change_hooks_run([changed[pk] for pk in sorted(changed)])


def source_clock_tolerance(source_system: str, given: timedelta | None) -> timedelta:
    """The tolerance the decision uses for a source: the one given, else the source's own (the
    same lookup a replay makes), else none."""
    if given is not None:
        return given
    return clock_tolerances([source_system]).get(source_system, timedelta(0))


class LineIsSplit(Exception):
    """Status facts go to the child lines of a split, never to the parent. The line was split
    after the caller resolved it: resolve the fact's lines again."""


class FactFromTheFuture(ValidationError):
    """The fact is dated too far ahead of its receipt: a source clock or time zone is wrong."""


def validate_fact(*, status: str, occurred_at: datetime, received_at: datetime | None) -> None:
    if status not in LineStatus.values:
        raise ValidationError({"status": _("Unknown status “%(status)s”.") % {"status": status}})
    if status == LineStatus.RECEIVED:
        raise ValidationError({"status": _("“received” is where a line starts; no fact can move it there.")})
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": _("The time of the fact needs a time zone.")})
    if received_at is not None and timezone.is_naive(received_at):
        raise ValidationError({"received_at": _("The time of receipt needs a time zone.")})
    if received_at is not None and occurred_at > received_at + settings.FACT_MAX_FUTURE:
        raise FactFromTheFuture(
            {
                "occurred_at": _(
                    "The fact is dated %(occurred_at)s, %(ahead)s after it was received at %(received_at)s "
                    "(more than %(bound)s ahead): check the source's clock and time zone."
                )
                % {
                    "occurred_at": occurred_at.isoformat(),
                    "received_at": received_at.isoformat(),
                    "ahead": occurred_at - received_at,
                    "bound": settings.FACT_MAX_FUTURE,
                }
            }
        )


def _leaf(locked: LockedOrder, line_id: int) -> OrderLine:
    line = locked.lines[line_id]
    if line.is_split:
        raise LineIsSplit(_("Line %(line)s is split; status facts belong to its child lines.") % {"line": line.number})
    return line
