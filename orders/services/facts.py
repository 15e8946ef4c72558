"""Taking a judged fact into a locked order, in memory: the line's new state, its events, the
split parents' rollup and the order's rollup. The single and the batch path share this; only
how they write the rows differs."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from orders.clocks import clock_tolerances
from orders.models import ActorKind, EventKind, EventOutcome, OrderLine, OutboxEvent, StatusEvent
from orders.models.order import TRANSITION_FOR_STATUS
from orders.publication import Topic
from orders.services.decide import (
    FACT_KINDS,
    NO_SEQUENCE,
    OVERRIDE_KINDS,
    Fact,
    LineState,
    judge,
    needs_replay,
)
from orders.services.events import Actor, Provenance, status_event_build, unique_fact_key
from orders.services.locking import LockedOrder
from orders.services.rollup import order_rollup, rolled_up_status

LINE_STATUS_FIELDS = [
    "status",
    "status_before_interruption",
    "status_occurred_at",
    "status_changed_at",
    "path_occurred_at",
    "held_status",
    "latest_fact_at",
    "latest_fact_sequence",
    "latest_fact_key",
    "audit_sequence",
    "audit_head",
    "updated_at",
]
ORDER_ROLLUP_FIELDS = ["status", "progress_percent", "earliest_eta", "latest_eta", "outbox_sequence", "updated_at"]
RESEQUENCED = "resequenced"

HistoryLoader = Callable[[OrderLine], list[Fact]]


@dataclass
class LineChange:
    """What one fact did: its event (and any resequenced or rollup events after it), the lines
    whose status changed (history rows), and the outbox row describing the state right after."""

    line: OrderLine
    event: StatusEvent
    outcome: str
    events: list[StatusEvent] = field(default_factory=list)
    changed_lines: list[OrderLine] = field(default_factory=list)
    touched_lines: list[OrderLine] = field(default_factory=list)
    outbox: OutboxEvent | None = None
    # The status stayed but its source time moved (an earlier fact confirming it arrived late):
    # the order's views show that time, so they are stale though nothing was published.
    view_moved: bool = False


def line_state(line: OrderLine) -> LineState:
    latest = None
    if line.latest_fact_at is not None:
        sequence = NO_SEQUENCE if line.latest_fact_sequence is None else line.latest_fact_sequence
        latest = (line.latest_fact_at, sequence, line.latest_fact_key)
    return LineState(
        status=line.status,
        path_status=line.status_before_interruption,
        status_at=line.status_occurred_at,
        path_at=line.path_occurred_at,
        held_status=line.held_status,
        latest=latest,
    )


def line_start_state(line: OrderLine) -> LineState:
    return LineState(
        status=line.start_status,
        path_status=line.start_path_status,
        status_at=line.start_occurred_at,
        path_at=line.start_path_occurred_at,
    )


def event_kind(event: StatusEvent) -> str:
    """The kind of an event; rows written before kinds were recorded get theirs derived."""
    if event.kind:
        return event.kind
    if not event.from_status:
        return EventKind.START
    if event.reason_code in (EventKind.SPLIT, EventKind.ROLLUP):
        return event.reason_code
    return EventKind.OVERRIDE if event.actor_kind == ActorKind.USER else EventKind.FACT


def facts_from_events(events: list[StatusEvent]) -> list[Fact]:
    """The decision's inputs among a line's events (source facts and overrides)."""
    chosen = [event for event in events if event_kind(event) in FACT_KINDS]
    tolerances = clock_tolerances(event.source_system for event in chosen)
    return [
        Fact(
            status=event.to_status,
            occurred_at=event.occurred_at,
            key=event.fact_key,
            sequence=event.source_sequence,
            kind=event_kind(event),
            from_integration=event.actor_kind == ActorKind.INTEGRATION,
            clock_tolerance=tolerances.get(event.source_system, Fact.clock_tolerance),
            source=event.source_system,
        )
        for event in chosen
    ]


def line_history_from_database(line: OrderLine, locked: LockedOrder) -> list[Fact]:
    """The facts of the line and of the lines it was split from (a child inherits them)."""
    line_ids = [line.pk]
    while (parent_id := locked.lines[line_ids[-1]].parent_id) is not None:
        line_ids.append(parent_id)
    return facts_from_events(list(StatusEvent.objects.filter(line_id__in=line_ids).order_by("line_id", "sequence")))


def fact_take(
    *,
    locked: LockedOrder,
    line: OrderLine,
    fact: Fact,
    actor: Actor,
    provenance: Provenance,
    received_at: datetime,
    now: datetime,
    history: HistoryLoader | None = None,
    approved_by=None,
    publish: bool = True,
) -> LineChange:
    """Judge `fact` about `line` (of the locked order) and make every change in memory."""
    state = line_state(line)
    replayed = needs_replay(state, fact)
    judgement = judge(
        state=state,
        fact=fact,
        start=line_start_state(line) if replayed else None,
        history=(history or (lambda line: line_history_from_database(line, locked)))(line) if replayed else (),
    )
    from_status = line.status
    # A change worth a history row, a rollup and a publication: the status or the path status
    # (a late path fact remembered during a hold moves the progress).
    changed = (judgement.state.status, judgement.state.path_status) != (state.status, state.path_status)
    event = status_event_build(
        line=line,
        from_status=from_status,
        to_status=fact.status,
        outcome=judgement.outcome,
        occurred_at=fact.occurred_at,
        received_at=received_at,
        applied_at=now if judgement.outcome == EventOutcome.APPLIED else None,
        actor=actor,
        provenance=provenance,
        key=fact.key,
        approved_by=approved_by,
        kind=fact.kind,
        source_sequence=fact.sequence,
    )
    change = LineChange(line=line, event=event, outcome=judgement.outcome, events=[event], touched_lines=[line])
    new = judgement.state
    if new.status != line.status:
        if replayed:
            line.take_decided_status(new.status)
        elif fact.kind in OVERRIDE_KINDS:
            line.override(fact.status)
        else:
            getattr(line, TRANSITION_FOR_STATUS[fact.status])()
    if line.status != new.status:
        raise AssertionError(f"line {line.pk}: the machine gave {line.status}, the decision {new.status}")
    _state_store(line, new)
    if judgement.resequenced_from:
        change.events.append(
            status_event_build(
                line=line,
                from_status=judgement.resequenced_from,
                to_status=new.status,
                outcome=EventOutcome.APPLIED,
                occurred_at=new.status_at or fact.occurred_at,
                received_at=now,
                applied_at=now,
                actor=Actor.system("decide"),
                provenance=Provenance(
                    source_system=provenance.source_system,
                    inbound_message_id=provenance.inbound_message_id,
                    reason_code=RESEQUENCED,
                    reason_text="a late fact re-ordered the line's facts by source time",
                ),
                key=unique_fact_key(),
                kind=EventKind.RESEQUENCED,
            )
        )
    change.view_moved = not changed and new.status_at != state.status_at
    if changed:
        line.status_changed_at = now
        change.changed_lines.append(line)
        _split_parents_rollup(locked, line, occurred_at=new.status_at or fact.occurred_at, now=now, change=change)
        _order_rollup(locked, now=now)
    line.updated_at = now
    if publish and (changed or judgement.outcome == EventOutcome.CONTESTED):
        change.outbox = _outbox_row(locked, change)
    return change


def _state_store(line: OrderLine, state: LineState) -> None:
    line.status_before_interruption = state.path_status
    line.status_occurred_at = state.status_at
    line.path_occurred_at = state.path_at
    line.held_status = state.held_status
    if state.latest is not None:
        line.latest_fact_at, sequence, line.latest_fact_key = state.latest
        line.latest_fact_sequence = None if sequence == NO_SEQUENCE else sequence


def _split_parents_rollup(locked: LockedOrder, line: OrderLine, *, occurred_at, now, change: LineChange) -> None:
    """Walk up the split tree, giving each parent the rolled-up status of its children."""
    parent_id = line.parent_id
    while parent_id is not None:
        parent = locked.lines[parent_id]
        new_status = rolled_up_status([child.status for child in locked.lines.values() if child.parent_id == parent_id])
        if new_status == parent.status:
            return
        from_status = parent.status
        parent.take_rollup_status(new_status)
        parent.status_occurred_at = occurred_at
        parent.status_changed_at = now
        parent.updated_at = now
        change.events.append(
            status_event_build(
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
                kind=EventKind.ROLLUP,
            )
        )
        change.changed_lines.append(parent)
        change.touched_lines.append(parent)
        parent_id = parent.parent_id


def _order_rollup(locked: LockedOrder, *, now) -> None:
    order = locked.order
    rollup = order_rollup([line for line in locked.lines.values() if not line.is_split])
    order.status = rollup.status
    order.progress_percent = rollup.progress_percent
    order.earliest_eta = rollup.earliest_eta
    order.latest_eta = rollup.latest_eta
    order.updated_at = now


def _outbox_row(locked: LockedOrder, change: LineChange) -> OutboxEvent:
    order = locked.order
    order.outbox_sequence += 1
    line, event = change.line, change.event
    payload = {**event_payload(line, event), "sequence": order.outbox_sequence}
    if change.outcome == EventOutcome.CONTESTED:
        topic = Topic.OVERRIDE_CONTESTED
        payload["held_status"] = line.held_status
    else:
        topic = Topic.LINE_STATUS_CHANGED
        payload.update(
            line_status=line.status,
            order_status=order.status,
            progress_percent=str(order.progress_percent),
            is_test=order.is_test,
        )
    return OutboxEvent(topic=topic, order=order, order_sequence=order.outbox_sequence, payload=payload)


def event_payload(line: OrderLine, event: StatusEvent) -> dict:
    return {
        "order_id": line.order_id,
        "order_number": line.order.number,
        "order_public_id": str(line.order.public_id),
        "line_id": line.pk,
        "line_public_id": str(line.public_id),
        "line_number": line.number,
        "event_id": event.pk,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "occurred_at": event.occurred_at.isoformat(),
        "actor_kind": event.actor_kind,
        "source_system": event.source_system,
        "inbound_message_id": event.inbound_message_id,
    }
