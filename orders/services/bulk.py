"""The batch path: many status facts in one transaction with a fixed number of statements.

Facts are judged in the order given (the caller passes them in message-id order) by the same
decision as apply_status_update (orders.services.decide, through facts.fact_take); only the
writes are batched: one insert of events, one set-based update of lines and of orders, bulk
history and outbox rows. Each outbox row describes the state right after its own change.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from orders.clocks import clock_tolerances
from orders.models import ActorKind, OrderLine, StatusEvent
from orders.services.decide import Fact
from orders.services.events import Actor, Provenance, fact_key
from orders.services.facts import fact_take, facts_from_events, line_history_from_database
from orders.services.locking import LockedOrder, orders_lock_for_lines
from orders.services.rows import rows_update
from orders.services.status import (
    DUPLICATE,
    LineIsSplit,
    StatusUpdateResult,
    changes_write,
    validate_fact,
)

__all__ = ["StatusFact", "rows_update", "status_facts_apply"]


@dataclass(frozen=True)
class StatusFact:
    line_id: int
    status: str
    occurred_at: datetime
    actor: Actor
    provenance: Provenance
    received_at: datetime | None = None
    fact_id: str = ""
    sequence: int | None = None
    clock_tolerance: timedelta | None = None  # None: the source's own (orders.clocks)
    approved_by: AbstractBaseUser | None = None  # the person who approved recording it (reconciliation)

    @property
    def key(self) -> str:
        """The fact's identity (orders.services.events.fact_key): the same fact twice is a duplicate."""
        return fact_key(
            line_id=self.line_id,
            status=self.status,
            occurred_at=self.occurred_at,
            source_system=self.provenance.source_system,
            fact_id=self.fact_id,
        )

    def decision_fact(self, tolerances: dict | None = None) -> Fact:
        """What the decision (orders.services.decide) sees of it; without a tolerance of its own
        the source's (from `tolerances`, as orders.clocks gives them)."""
        tolerance = self.clock_tolerance
        if tolerance is None:
            tolerance = (tolerances or {}).get(self.provenance.source_system, timedelta(0))
        return Fact(
            status=self.status,
            occurred_at=self.occurred_at,
            key=self.key,
            sequence=self.sequence,
            from_integration=self.actor.kind == ActorKind.INTEGRATION,
            clock_tolerance=tolerance,
            source=self.provenance.source_system,
        )


def status_facts_apply(*, facts: list[StatusFact], publish: bool = True) -> list[StatusUpdateResult]:
    """Record and apply `facts`, one result per fact, in order. Raises, before writing anything,
    for a fact apply_status_update would refuse (ValidationError, FactFromTheFuture), an unknown
    line (OrderLine.DoesNotExist) or a split parent (LineIsSplit)."""
    now = timezone.now()
    for fact in facts:
        validate_fact(status=fact.status, occurred_at=fact.occurred_at, received_at=fact.received_at or now)
    if not facts:
        return []
    with transaction.atomic():
        locked_orders = orders_lock_for_lines(line_ids={fact.line_id for fact in facts})
        locked_of_line: dict[int, LockedOrder] = {
            line_id: locked for locked in locked_orders.values() for line_id in locked.lines
        }
        keys = [fact.key for fact in facts]
        recorded = {
            (event.line_id, event.fact_key): event
            for event in StatusEvent.objects.filter(
                line_id__in={fact.line_id for fact in facts}, fact_key__in=set(keys)
            )
        }
        tolerances = clock_tolerances(fact.provenance.source_system for fact in facts if fact.clock_tolerance is None)
        pending: dict[int, list[StatusEvent]] = {}  # events of this batch, for replays later in it

        def history(line: OrderLine, locked: LockedOrder):
            line_ids = [line.pk]
            while (parent_id := locked.lines[line_ids[-1]].parent_id) is not None:
                line_ids.append(parent_id)
            batch = [event for line_id in line_ids for event in pending.get(line_id, [])]
            return line_history_from_database(line, locked) + facts_from_events(batch)

        results, changes = [], []
        for fact, key in zip(facts, keys, strict=True):
            locked = locked_of_line.get(fact.line_id)
            if locked is None:
                raise OrderLine.DoesNotExist(f"no line {fact.line_id}")
            line = locked.lines[fact.line_id]
            if line.is_split:
                raise LineIsSplit(f"line {line.pk} is split; status facts belong to its child lines")
            if (line.pk, key) in recorded:
                results.append(StatusUpdateResult(event=recorded[(line.pk, key)], outcome=DUPLICATE))
                continue
            change = fact_take(
                locked=locked,
                line=line,
                fact=fact.decision_fact(tolerances),
                actor=fact.actor,
                provenance=fact.provenance,
                received_at=fact.received_at or now,
                now=now,
                history=lambda line, locked=locked: history(line, locked),
                approved_by=fact.approved_by,
                publish=publish,
            )
            for event in change.events:
                pending.setdefault(event.line_id, []).append(event)
            recorded[(line.pk, key)] = change.event  # the same fact again later in the batch is a duplicate
            results.append(StatusUpdateResult(event=change.event, outcome=change.outcome))
            changes.append(change)
        changes_write(locked_orders=list(locked_orders.values()), changes=changes)
        return results
