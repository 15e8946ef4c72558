"""The bulk path: many status facts in one transaction with a fixed number of queries.

Same decisions as apply_status_update (one shared function, line_fact_take), taken in the order
given, so a batch ends exactly where applying the facts one by one would. Lines in a split tree
are left to apply_status_update, which walks the tree.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import EventOutcome, Order, OrderLine, OutboxEvent, StatusEvent
from orders.publication import Topic
from orders.services.events import Actor, Provenance, fact_key, status_event_build
from orders.services.outbox import outbox_dispatch_after_commit
from orders.services.rollup import order_rollup
from orders.services.status import (
    DUPLICATE,
    LINE_STATUS_FIELDS,
    StatusUpdateResult,
    change_payload,
    event_payload,
    line_fact_take,
    validate_fact,
)


@dataclass(frozen=True)
class StatusFact:
    line_id: int
    status: str
    occurred_at: datetime
    actor: Actor
    provenance: Provenance
    received_at: datetime | None = None
    fact_id: str = ""


def status_facts_apply(*, facts: list[StatusFact], publish: bool = True) -> list[StatusUpdateResult]:
    """Record and apply `facts`, one result per fact, in order. Raises ValidationError, before
    writing anything, for a fact apply_status_update would refuse or a line in a split tree."""
    for fact in facts:
        validate_fact(status=fact.status, occurred_at=fact.occurred_at, received_at=fact.received_at)
    if not facts:
        return []
    now = timezone.now()
    with transaction.atomic():
        lines = {
            line.pk: line
            for line in OrderLine.objects.select_for_update(of=("self",))
            .select_related("order")
            .filter(pk__in={fact.line_id for fact in facts})
            .order_by("pk")
        }
        if any(line.is_split or line.parent_id for line in lines.values()):
            raise ValidationError({"line": _("Lines of a split go through apply_status_update.")})
        keys = [
            fact_key(
                line_id=fact.line_id,
                status=fact.status,
                occurred_at=fact.occurred_at,
                source_system=fact.provenance.source_system,
                fact_id=fact.fact_id,
            )
            for fact in facts
        ]
        recorded = {
            (event.line_id, event.fact_key): event
            for event in StatusEvent.objects.filter(line_id__in=lines, fact_key__in=set(keys))
        }
        results: list[StatusUpdateResult] = []
        new_events: list[StatusEvent] = []
        for fact, key in zip(facts, keys, strict=True):
            line = lines[fact.line_id]
            if (line.pk, key) in recorded:
                results.append(StatusUpdateResult(event=recorded[(line.pk, key)], outcome=DUPLICATE))
                continue
            from_status = line.status
            outcome = line_fact_take(line, status=fact.status, occurred_at=fact.occurred_at, actor=fact.actor, now=now)
            event = status_event_build(
                line=line,
                from_status=from_status,
                to_status=fact.status,
                outcome=outcome,
                occurred_at=fact.occurred_at,
                received_at=fact.received_at or now,
                applied_at=now if outcome == EventOutcome.APPLIED else None,
                actor=fact.actor,
                provenance=fact.provenance,
                key=key,
            )
            recorded[(line.pk, key)] = event  # the same fact again later in the batch is a duplicate
            new_events.append(event)
            results.append(StatusUpdateResult(event=event, outcome=outcome))
        StatusEvent.objects.bulk_create(new_events)
        _lines_save(lines, new_events, now=now)
        changed = [result for result in results if result.outcome == EventOutcome.APPLIED]
        orders = _orders_rollup_refresh({result.event.order_id for result in changed}, now=now)
        if publish:
            _publish(results, lines, orders)
        return results


def _lines_save(lines: dict[int, OrderLine], events: list[StatusEvent], *, now: datetime) -> None:
    applied = {event.line_id for event in events if event.outcome == EventOutcome.APPLIED}
    touched = {event.line_id for event in events}
    for line_id in touched:
        lines[line_id].updated_at = now
    changed = [lines[line_id] for line_id in sorted(applied)]
    rows_update(changed, LINE_STATUS_FIELDS)
    # Status changes keep their history rows, written in bulk too.
    OrderLine.history.bulk_history_create(changed, update=True, default_date=now)
    rows_update(
        [lines[line_id] for line_id in sorted(touched - applied)],
        ["held_status", "audit_sequence", "audit_head", "updated_at"],
    )


def rows_update(objects: list, fields: list[str]) -> None:
    """One plain UPDATE per row. Django's bulk_update builds a CASE per field and row, which
    costs far more to compile than a few hundred simple statements cost to run. History, where
    a model keeps it, is the caller's to write (in bulk)."""
    for obj in objects:
        type(obj)._default_manager.filter(pk=obj.pk).update(**{field: getattr(obj, field) for field in fields})


def _orders_rollup_refresh(order_ids: set[int], *, now: datetime) -> dict[int, Order]:
    """order_rollup_refresh for many orders: lock them, read their leaves once, write once."""
    if not order_ids:
        return {}
    orders = {order.pk: order for order in Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")}
    leaves: dict[int, list[OrderLine]] = {order_id: [] for order_id in orders}
    for line in OrderLine.objects.filter(order_id__in=orders, is_split=False):
        leaves[line.order_id].append(line)
    for order in orders.values():
        rollup = order_rollup(leaves[order.pk])
        order.status = rollup.status
        order.progress_percent = rollup.progress_percent
        order.earliest_eta = rollup.earliest_eta
        order.latest_eta = rollup.latest_eta
        order.updated_at = now
    # Derived fields only, as in order_rollup_refresh: no history rows for them.
    rows_update(list(orders.values()), ["status", "progress_percent", "earliest_eta", "latest_eta", "updated_at"])
    return orders


def _publish(results: list[StatusUpdateResult], lines: dict[int, OrderLine], orders: dict[int, Order]) -> None:
    rows = []
    for result in results:
        event, line = result.event, lines[result.event.line_id]
        if result.outcome == EventOutcome.APPLIED:
            order = orders[line.order_id]
            rows.append(
                OutboxEvent(topic=Topic.LINE_STATUS_CHANGED, order=order, payload=change_payload(line, event, order))
            )
        elif result.outcome == EventOutcome.CONTESTED:
            payload = {**event_payload(line, event), "held_status": line.held_status}
            rows.append(OutboxEvent(topic=Topic.OVERRIDE_CONTESTED, order=line.order, payload=payload))
    if rows:
        outbox_dispatch_after_commit([row.pk for row in OutboxEvent.objects.bulk_create(rows)])
