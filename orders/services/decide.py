"""The one decision: what a status fact does to a line, over plain values (no database).

Every path that changes a status calls `judge` (the single path, the batch path, overrides,
reconciliation, imports); they differ only in how they write. The rules, one line each:

1. Facts are judged in decision order: source time, then the source's sequence number, then a
   stable identity (source, status, fact key) — never by arrival, and never by our clock.
2. A fact that sorts after every fact the line has seen is one step of the fold below; one that
   sorts before replays the line's facts from where it started, so any arrival order of the same
   facts ends in the same status, status time and path status.
3. The same fact twice is a duplicate and does nothing (the caller checks fact keys).
4. A repeat of the current status confirms it: unchanged, and the status time stays the time
   the line entered it.
5. A forward move along the path applies, skipping steps (sources lose messages), and lifts a
   hold or exception whose remembered path status it reaches.
6. A path fact behind where the line is (or was, before a hold or exception) is late news: stale.
7. A real step back the state machine names (a lost allocation, a short pick or the rest of a
   partial goods issue backorders a line not shipped yet) applies only when it is later than the
   step it undoes by more than its source's clock tolerance; within it the forward step stands.
8. Holds, exceptions, cancellations and returns apply where the state machine allows them (it is
   the one place that says what is legal); anything else it refuses is rejected.
9. A path fact that happened before a hold or exception moves the remembered path status on
   (outcome "remembered"): the line resumes where the part really is.
10. A person's override sets any status at its own time; "held until a source confirms" makes a
    later integration fact that disagrees contested instead of applied, and one that agrees (or
    is further on) ends the hold.
11. When a late fact re-orders the line so that another fact now decides its status, that is
    recorded as a separate system event ("resequenced"), so the log reads in source time.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django_fsm import can_proceed

from orders.models import EventKind, EventOutcome
from orders.models.order import TRANSITION_FOR_STATUS, OrderLine
from orders.status import INTERRUPTIONS, RANK, LineStatus, is_forward

OVERRIDE_KINDS = frozenset({EventKind.OVERRIDE, EventKind.HELD_OVERRIDE})
FACT_KINDS = frozenset({EventKind.FACT, *OVERRIDE_KINDS})
# Order keys sort on (time, sequence, key); a fact without a sequence sorts before one with.
NO_SEQUENCE = -(2**63)

OrderKey = tuple[datetime, int, str]


@dataclass(frozen=True)
class Fact:
    """One fact about one line, as the decision needs it."""

    status: str
    occurred_at: datetime
    key: str
    sequence: int | None = None
    kind: str = EventKind.FACT
    from_integration: bool = True
    clock_tolerance: timedelta = timedelta(0)
    source: str = ""

    @property
    def order_key(self) -> OrderKey:
        return order_key(self.occurred_at, self.sequence, tie_break(self.source, self.status, self.key))


def tie_break(source: str, status: str, key: str) -> str:
    """The last part of the decision order: the same for the same fact on any line (the key,
    which names the line, only separates facts that agree on everything else). Tabs sort below
    every character of a code, so the string sorts as the tuple would."""
    return f"{source}\t{status}\t{key}"


def order_key(occurred_at: datetime, sequence: int | None, tie: str) -> OrderKey:
    return (occurred_at, NO_SEQUENCE if sequence is None else sequence, tie)


@dataclass(frozen=True)
class LineState:
    """What the decision knows of a line: its status, the path status a hold or exception
    interrupted (blank otherwise), the source times behind both, a held override, and the
    latest fact seen (in decision order)."""

    status: str
    path_status: str = ""
    status_at: datetime | None = None
    path_at: datetime | None = None
    held_status: str = ""
    latest: OrderKey | None = None

    @property
    def progress_status(self) -> str:
        return self.path_status or self.status

    def same_as(self, other: "LineState") -> bool:
        """Equal in everything but the latest fact seen."""
        return replace(self, latest=None) == replace(other, latest=None)


@dataclass(frozen=True)
class Decision:
    outcome: str
    state: LineState


@dataclass(frozen=True)
class Judgement:
    """What a new fact does: its own outcome, the line's state after it, and, when a replay
    left another fact deciding the status, the status the resequenced event moves to."""

    outcome: str
    state: LineState
    resequenced_from: str = ""

    @property
    def changed(self) -> bool:
        return self.outcome == EventOutcome.APPLIED or bool(self.resequenced_from)


def needs_replay(state: LineState, fact: Fact) -> bool:
    """True when the fact sorts before a fact the line has already seen."""
    return state.latest is not None and fact.order_key < state.latest


def judge(*, state: LineState, fact: Fact, start: LineState | None = None, history: Iterable[Fact] = ()) -> Judgement:
    """The decision for a new fact. When `needs_replay`, pass the line's `start` state and every
    fact it has recorded (`history`); otherwise one fold step decides."""
    if not needs_replay(state, fact):
        decision = decide(state, fact)
        return Judgement(outcome=decision.outcome, state=decision.state)
    if start is None:
        raise ValueError("a late fact needs the line's start state and history")
    final, outcomes = replay(start, [*history, fact])
    at_position = outcomes[fact.key]
    if final.same_as(state):
        if fact.status == state.status:
            return Judgement(outcome=EventOutcome.UNCHANGED, state=final)
        superseded = at_position in (EventOutcome.APPLIED, EventOutcome.REMEMBERED)
        return Judgement(outcome=EventOutcome.STALE if superseded else at_position, state=final)
    if final.status == state.status:
        if final.path_status != state.path_status:
            return Judgement(outcome=EventOutcome.REMEMBERED, state=final)
        outcome = EventOutcome.UNCHANGED if at_position == EventOutcome.APPLIED else at_position
        return Judgement(outcome=outcome, state=final)
    after_fact = fact.status if at_position == EventOutcome.APPLIED else state.status
    return Judgement(
        outcome=at_position,
        state=final,
        resequenced_from=after_fact if after_fact != final.status else "",
    )


def replay(start: LineState, facts: Iterable[Fact]) -> tuple[LineState, dict[str, str]]:
    """Fold `facts` over `start` in decision order. Returns the end state and each fact's
    outcome at its place in that order."""
    state = start
    outcomes: dict[str, str] = {}
    for fact in sorted(facts, key=lambda fact: fact.order_key):
        decision = decide(state, fact)
        state, outcomes[fact.key] = decision.state, decision.outcome
    return state, outcomes


def decide(state: LineState, fact: Fact) -> Decision:
    """One step of the fold: `fact` sorts after everything the line has seen."""
    latest = fact.order_key if state.latest is None else max(state.latest, fact.order_key)
    if fact.kind in OVERRIDE_KINDS:
        return _override(state, fact, latest)
    held = state.held_status
    if held and fact.from_integration and (fact.status == held or is_forward(held, fact.status)):
        held = ""  # the source confirms the override, or has moved past it
    outcome = _outcome(state, fact)
    if held and fact.from_integration and outcome != EventOutcome.STALE:
        outcome = EventOutcome.CONTESTED
    if outcome != EventOutcome.APPLIED:
        return Decision(outcome, replace(state, held_status=held, latest=latest))
    status, path_status = _transition(state, fact.status)
    return Decision(
        outcome,
        LineState(
            status=status,
            path_status=path_status,
            status_at=fact.occurred_at,
            path_at=state.path_at if path_status else _path_time(status, fact.occurred_at, state),
            held_status=held,
            latest=latest,
        ),
    )


def _outcome(state: LineState, fact: Fact) -> str:
    if fact.status == state.status:
        return EventOutcome.UNCHANGED
    if not _legal(state, fact.status):
        if is_forward(fact.status, state.progress_status):
            return EventOutcome.STALE  # behind where the line is (or was, before a hold)
        return EventOutcome.REJECTED
    step_back = is_forward(fact.status, state.progress_status) and state.path_at is not None
    if step_back and fact.occurred_at <= state.path_at + fact.clock_tolerance:
        return EventOutcome.STALE  # a real step back (rule 7) must be clearly later than the step it undoes
    return EventOutcome.APPLIED


def _override(state: LineState, fact: Fact, latest: OrderKey) -> Decision:
    held = fact.status if fact.kind == EventKind.HELD_OVERRIDE else ""
    if fact.status == state.status:
        return Decision(EventOutcome.UNCHANGED, replace(state, held_status=held, latest=latest))
    line = _machine(state)
    line.override(fact.status)
    path_status = line.status_before_interruption
    return Decision(
        EventOutcome.APPLIED,
        LineState(
            status=fact.status,
            path_status=path_status,
            status_at=fact.occurred_at,
            path_at=state.path_at if path_status else _path_time(fact.status, fact.occurred_at, state),
            held_status=held,
            latest=latest,
        ),
    )


def _path_time(status: str, occurred_at: datetime, state: LineState) -> datetime | None:
    return occurred_at if status in RANK else state.path_at


def _machine(state: LineState) -> OrderLine:
    """An unsaved line in `state`, so that the state machine itself says what is legal."""
    return OrderLine(status=state.status, status_before_interruption=state.path_status)


def _legal(state: LineState, target: str) -> bool:
    return can_proceed(getattr(_machine(state), TRANSITION_FOR_STATUS[target]))


def _transition(state: LineState, target: str) -> tuple[str, str]:
    line = _machine(state)
    getattr(line, TRANSITION_FOR_STATUS[target])()
    path_status = line.status_before_interruption if line.status in INTERRUPTIONS else ""
    return line.status, path_status


def start_state(*, status: str = LineStatus.RECEIVED, path_status: str = "", status_at=None, path_at=None) -> LineState:
    """Where a line starts: received (at the order's source creation time, or none), or, for a
    split child, where its parent was."""
    return LineState(status=status, path_status=path_status, status_at=status_at, path_at=path_at)
