"""Reconciliation after an outage: re-read what a source sent in a time window, replay each line's
facts with the ones it never recorded through the core's decision, and list the lines whose status
that would change; a second person records those facts (orders.services.bulk.status_facts_apply).

The messages are read exactly as processing reads them (integrations.services.processing), so a
fact here has the key processing would give it, and a fact already recorded is never proposed
again. A line that another source has moved on past the missing facts is not proposed at all: the
replay (orders.services.decide.replay) judges them stale, as the core would."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integrations.adapters import AdapterError, adapter_for
from integrations.models import InboundMessage, SourceSystem
from integrations.services.lines import AmbiguousReference, LineNotFound
from integrations.services.processing import Quarantine, message_statuses_resolve, status_fact_build
from orders.models import ActorKind, OrderLine, StatusEvent
from orders.scoping import lines_visible_to
from orders.services import Actor, FactFromTheFuture, Provenance
from orders.services.bulk import StatusFact, status_facts_apply
from orders.services.decide import FACT_KINDS, Fact, replay
from orders.services.facts import event_kind, facts_from_events, line_start_state
from orders.services.locking import orders_lock_for_lines
from orders.services.status import validate_fact
from overrides.models import ReconciliationItem, ReconciliationRun

EVENT_FIELDS = [
    "line_id",
    "sequence",
    "kind",
    "from_status",
    "to_status",
    "occurred_at",
    "fact_key",
    "source_sequence",
    "source_system",
    "actor_kind",
    "reason_code",
]


@dataclass
class ReconciliationTally:
    """What a run read but could not compare (not stored: shown once, when the run is created).
    A message processing would refuse as a whole gives no facts at all, as in processing."""

    unreadable_messages: int = 0  # the adapter or the core refuses their data (processing: dead)
    unknown_codes: int = 0  # messages with a code the source has no mapping for (quarantined)
    unknown_lines: int = 0  # messages naming a line that does not exist or that cannot be told apart
    future_messages: int = 0  # messages with a fact dated too far ahead of its receipt (quarantined)
    # Partial confirmations for a line not split yet: only processing splits; replay those.
    partials: int = 0


@dataclass
class WindowFacts:
    """The facts of the window per line, each once (by fact key, first message first), and every
    message that carried each."""

    facts: dict[int, dict[str, StatusFact]]
    message_ids: dict[str, list[int]]
    messages_read: int
    tally: ReconciliationTally


def reconciliation_run_create(
    *, source_code: str, since: datetime, until: datetime | None = None, user=None
) -> ReconciliationRun:
    """Re-read every message of the source received in [since, until), whatever its state (dead
    letters included: after an outage they are the point), and, for every line some of whose
    facts it has not recorded, replay the line's start state with all its recorded facts (every
    source, overrides included) and those missing ones. Where that ends in another status than
    the line's, record a mismatch with the missing facts. With a `user`, lines out of their scope
    are left out. The run has `tally` (a ReconciliationTally) attached."""
    if user is not None:
        _require(user, "overrides.add_reconciliationrun")
    until = until or timezone.now()
    source = _window_checked(source_code=source_code, since=since, until=until)
    window = _window_facts(source, since=since, until=until)
    lines = OrderLine.objects.filter(pk__in=window.facts, is_split=False).select_related("order")
    if user is not None:
        lines = lines_visible_to(user, lines)
    lines = list(lines.order_by("pk"))
    recorded = _recorded_facts(lines)
    mismatches = []
    for line in lines:
        history = recorded[line.pk]
        known = {fact.key for fact in history}
        missing = [fact for key, fact in window.facts[line.pk].items() if key not in known]
        if not missing:
            continue
        state, outcomes = replay(line_start_state(line), [*history, *(fact.decision_fact() for fact in missing)])
        if state.status == line.status:
            continue
        mismatches.append(
            ReconciliationItem(
                line=line,
                current_status=line.status,
                proposed_status=state.status,
                proposed_occurred_at=state.status_at,
                facts=[_fact_stored(fact, outcome=outcomes[fact.key]) for fact in missing],
                message_ids=sorted({message_id for fact in missing for message_id in window.message_ids[fact.key]}),
            )
        )
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            source_code=source.code, since=since, until=until, created_by=user, messages_read=window.messages_read
        )
        for item in mismatches:
            item.run = run
        ReconciliationItem.objects.bulk_create(mismatches)
    run.tally = window.tally
    return run


def reconciliation_run_apply(*, run_id: int, user, item_ids: list[int]) -> ReconciliationRun:
    """Record the missing facts of the chosen mismatches in one transaction, through the core's
    batch path: each as a fact of the source, from its inbound message, approved by `user`, who
    must not be the person who started the run. The core judges them again (a fact recorded
    meanwhile is a duplicate). Lines that changed since the run refuse the batch."""
    _require(user, "overrides.apply_reconciliationrun")
    if not item_ids:
        raise ValidationError({"items": _("Choose at least one correction to apply.")})
    with transaction.atomic():
        run = _proposed(run_id)
        if run.created_by_id == user.pk:
            raise PermissionDenied(_("Someone else must apply the corrections of a reconciliation you started."))
        items = list(
            reconciliation_items_visible_to(user, run)
            .filter(pk__in=item_ids, applied=False)
            .select_related("line__order")
            .order_by("line_id")
        )
        if len(items) != len(set(item_ids)):
            raise ReconciliationItem.DoesNotExist
        # The core's lock order (the orders, then their lines by id) before looking at the lines:
        # no check-then-act race, and the batch path below takes the same locks again.
        locked = orders_lock_for_lines(line_ids=[item.line_id for item in items])
        now_lines = {line.pk: line for order in locked.values() for line in order.lines.values()}
        moved = [
            str(item.line)
            for item in items
            if now_lines[item.line_id].status != item.current_status or now_lines[item.line_id].is_split
        ]
        if moved:
            raise ValidationError(
                {
                    "items": _("These lines changed since the reconciliation ran: %(lines)s. Start a new one.")
                    % {"lines": ", ".join(moved)}
                }
            )
        source = SourceSystem.objects.filter(code=run.source_code).first()
        facts = [
            _fact_loaded(
                stored,
                line_id=item.line_id,
                source_code=run.source_code,
                source=source,
                started_by=run.created_by,
                approved_by=user,
            )
            for item in items
            for stored in item.facts
        ]
        status_facts_apply(facts=sorted(facts, key=lambda fact: (fact.provenance.inbound_message_id, fact.line_id)))
        for item in items:
            item.applied = True
        ReconciliationItem.objects.bulk_update(items, ["applied"])
        run.state = ReconciliationRun.State.APPLIED
        run.applied_by = user
        run.applied_at = timezone.now()
        run.save(update_fields=["state", "applied_by", "applied_at"])
        return run


def reconciliation_run_discard(*, run_id: int, user) -> ReconciliationRun:
    """Close a run without changing anything: whoever may apply it, or the person who started it."""
    with transaction.atomic():
        run = _proposed(run_id)
        if not reconciliation_run_may_discard(run=run, user=user):
            raise PermissionDenied(_("You do not have the right to do this."))
        run.state = ReconciliationRun.State.DISCARDED
        run.save(update_fields=["state"])
        return run


def reconciliation_run_may_apply(*, run: ReconciliationRun, user) -> bool:
    """Four-eyes: someone with the right who did not start the run, while it is proposed."""
    return (
        run.state == ReconciliationRun.State.PROPOSED
        and run.created_by_id != user.pk
        and user.has_perm("overrides.apply_reconciliationrun")
    )


def reconciliation_run_may_discard(*, run: ReconciliationRun, user) -> bool:
    return run.state == ReconciliationRun.State.PROPOSED and (
        run.created_by_id == user.pk or user.has_perm("overrides.apply_reconciliationrun")
    )


def reconciliation_items_visible_to(user, run: ReconciliationRun):
    """The run's mismatches on lines in the user's scope; the others are never shown."""
    return run.items.filter(line__in=lines_visible_to(user))


def _window_checked(*, source_code: str, since: datetime, until: datetime) -> SourceSystem:
    source = SourceSystem.objects.filter(code=source_code).first()
    if source is None:
        raise ValidationError({"source_code": _("Unknown source “%(code)s”.") % {"code": source_code}})
    if timezone.is_naive(since) or timezone.is_naive(until):
        raise ValidationError({"since": _("Give the times with a time zone.")})
    if since >= until:
        raise ValidationError({"until": _("The end of the window must come after its start.")})
    return source


def _window_facts(source: SourceSystem, *, since: datetime, until: datetime) -> WindowFacts:
    """The facts the source's messages of the window make, read as processing reads them (in
    order of receipt); a message processing would refuse as a whole is counted, not read."""
    adapter = adapter_for(source.message_format)
    messages = (
        InboundMessage.objects.filter(source=source, received_at__gte=since, received_at__lt=until)
        .order_by("received_at", "id")
        .only("id", "raw", "received_at", "source_id")
    )
    window = WindowFacts(
        facts=defaultdict(dict), message_ids=defaultdict(list), messages_read=0, tally=ReconciliationTally()
    )
    tally = window.tally
    for message in messages.iterator(chunk_size=500):
        message.source = source
        window.messages_read += 1
        try:
            facts, partials = _message_facts(message, adapter)
        except Quarantine:
            tally.unknown_codes += 1
            continue
        except (LineNotFound, AmbiguousReference):
            tally.unknown_lines += 1
            continue
        except FactFromTheFuture:
            tally.future_messages += 1
            continue
        except (AdapterError, ValidationError):
            tally.unreadable_messages += 1
            continue
        tally.partials += partials
        for fact in facts:
            window.facts[fact.line_id].setdefault(fact.key, fact)
            window.message_ids[fact.key].append(message.pk)
    return window


def _message_facts(message: InboundMessage, adapter) -> tuple[list[StatusFact], int]:
    """The status facts of one message, as processing would record them, and how many partial
    confirmations it left out (processing splits the line first: only a replay does that)."""
    parsed = adapter.parse(message.raw)
    facts, partials = [], 0
    for resolved in message_statuses_resolve(source=message.source, parsed=parsed):
        for line in resolved.lines:
            if resolved.status.quantity and resolved.status.quantity < line.quantity:
                partials += 1
                continue
            fact = status_fact_build(
                message=message,
                sequence=parsed.sequence,
                status=resolved.status,
                occurred_at=resolved.occurred_at,
                mapped=resolved.mapped,
                line_id=line.pk,
            )
            validate_fact(status=fact.status, occurred_at=fact.occurred_at, received_at=fact.received_at)
            facts.append(fact)
    return facts, partials


def _recorded_facts(lines: list[OrderLine]) -> dict[int, list[Fact]]:
    """Every fact each line has recorded (every source, overrides included) with those of the
    lines it was split from, which a child inherits, as the core replays them
    (orders.services.facts.line_history_from_database), in three queries for any number of lines."""
    parents = dict(
        OrderLine.objects.filter(order_id__in={line.order_id for line in lines}).values_list("pk", "parent_id")
    )
    lineage = {}
    for line in lines:
        line_ids = [line.pk]
        while (parent_id := parents.get(line_ids[-1])) is not None:
            line_ids.append(parent_id)
        lineage[line.pk] = line_ids
    events = [
        event
        for event in StatusEvent.objects.filter(line_id__in={pk for ids in lineage.values() for pk in ids})
        .only(*EVENT_FIELDS)
        .order_by("line_id", "sequence")
        if event_kind(event) in FACT_KINDS
    ]
    by_line: dict[int, list[Fact]] = defaultdict(list)
    for event, fact in zip(events, facts_from_events(events), strict=True):
        by_line[event.line_id].append(fact)
    return {line.pk: [fact for line_id in lineage[line.pk] for fact in by_line[line_id]] for line in lines}


def _fact_stored(fact: StatusFact, *, outcome: str) -> dict:
    """A missing fact as the run keeps it: enough to record it later with the same key, and what
    it does at its place among the line's facts."""
    return {
        "key": fact.key,
        "status": fact.status,
        "occurred_at": fact.occurred_at.isoformat(timespec="microseconds"),
        "sequence": fact.sequence,
        "message_id": fact.provenance.inbound_message_id,
        "received_at": fact.received_at.isoformat(timespec="microseconds"),
        "reason_code": fact.provenance.reason_code,
        "reason_text": fact.provenance.reason_text,
        "outcome": outcome,
    }


def _fact_loaded(stored: dict, *, line_id: int, source_code: str, source, started_by, approved_by) -> StatusFact:
    """The stored fact as the source's, naming both people on its event: the one who started the
    run (who found it) as the actor's person, the one who applied it as the approver."""
    fact = StatusFact(
        line_id=line_id,
        status=stored["status"],
        occurred_at=parse_datetime(stored["occurred_at"]),
        actor=Actor(kind=ActorKind.INTEGRATION, label=source_code, user=started_by),
        provenance=Provenance(
            source_system=source_code,
            inbound_message_id=stored["message_id"],
            reason_code=stored["reason_code"],
            reason_text=stored["reason_text"],
        ),
        received_at=parse_datetime(stored["received_at"]),
        sequence=stored["sequence"],
        clock_tolerance=source.clock_tolerance if source is not None else StatusFact.clock_tolerance,
        approved_by=approved_by,
    )
    if fact.key != stored["key"]:
        raise AssertionError(f"line {line_id}: a stored fact no longer has its key")
    return fact


def _proposed(run_id: int) -> ReconciliationRun:
    run = ReconciliationRun.objects.select_for_update().get(pk=run_id)
    if run.state != ReconciliationRun.State.PROPOSED:
        raise ValidationError({"state": _("This reconciliation has already been applied or discarded.")})
    return run


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the right to do this."))
