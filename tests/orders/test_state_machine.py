"""The line state machine, pair by pair: every (current, fact) combination and what it does.

The expected table is written here from the business rules, not read from the model.
"""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from orders.models import StatusEvent
from orders.services import Actor, apply_status_update, line_status_override
from orders.status import PATH, LineStatus
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

# The rules below are written against this path, spelled out so that a change to the
# vocabulary shows up as a failing test rather than a silently different table.
NORMAL_PATH = (
    "received",
    "released",
    "awaiting_part",
    "allocated",
    "picking",
    "awaiting_kitting",
    "packed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "verified",
)
INTERRUPTED = ("on_hold", "exception")
END_STATES = ("cancelled", "returned", "verified")
ALL_STATUSES = (*NORMAL_PATH, *INTERRUPTED, "cancelled", "returned")


def _position(status: str) -> int:
    return NORMAL_PATH.index(status)


def _on_path_before(status: str, limit: str) -> bool:
    return status in NORMAL_PATH and _position(status) < _position(limit)


def is_legal(current: str, target: str, before: str = "") -> bool:
    """Whether a source fact may move a line from `current` to `target`, per the rules;
    `before` is the path status a hold or exception interrupted."""
    if current in END_STATES:
        return False  # nothing leaves cancelled, returned or verified except an override
    if current in INTERRUPTED and target not in INTERRUPTED:
        # out of a hold or exception only where the line could have gone from where it was
        if target in NORMAL_PATH and target == before:
            return True
        return is_legal(before, target)
    if target in NORMAL_PATH:
        if _position(target) > _position(current):
            return True  # forward along the path, steps may be skipped
        # backorder: a lost reservation, a short pick, or the rest of a partial goods issue
        return target == "awaiting_part" and current in ("allocated", "picking", "awaiting_kitting", "packed")
    if target == "on_hold":
        return current == "exception" or _on_path_before(current, "delivered")
    if target == "exception":
        return current == "on_hold" or _on_path_before(current, "verified")
    if target == "cancelled":
        return current in INTERRUPTED or _on_path_before(current, "shipped")
    if target == "returned":
        return current == "exception" or (current in NORMAL_PATH and _position(current) >= _position("shipped"))
    raise AssertionError(f"no rule for {target}")


def expected_outcome(current: str, target: str, *, before: str = "") -> str:
    """What a fact later than anything the line has seen does."""
    if current == target:
        return "unchanged"
    if is_legal(current, target, before):
        return "applied"
    progress = before or current  # where the line is, or was before a hold or exception
    if progress in NORMAL_PATH and target in NORMAL_PATH and _position(target) < _position(progress):
        return "stale"  # a backward move along the path is a late message, kept for analytics
    return "rejected"


def where_facts_in_time_order_end(facts: list[tuple[str, datetime]]) -> tuple[str, datetime | None]:
    """The status and status time a line shows after hearing `facts` one by one in the order
    they happened, each judged by the rules above: a user's expectation, not the model's code."""
    status, before, since = "received", "", None
    for target, when in facts:
        if expected_outcome(status, target, before=before) != "applied":
            continue  # unchanged, stale or rejected: the line stays, its status time too
        # a hold or exception remembers where the line was on its path; anything else forgets
        before = (before if status in INTERRUPTED else status) if target in INTERRUPTED else ""
        status, since = target, when
    return status, since


# Starting points, each reached from `received` by legal facts through the service:
# name -> (status, path status a hold or exception interrupted, route).
STARTS = {
    "received": ("received", "", ()),
    **{status: (status, "", (status,)) for status in NORMAL_PATH[1:]},
    "on_hold": ("on_hold", "allocated", ("allocated", "on_hold")),
    "on_hold_after_shipping": ("on_hold", "shipped", ("shipped", "on_hold")),
    "exception": ("exception", "allocated", ("allocated", "exception")),
    "exception_after_shipping": ("exception", "in_transit", ("in_transit", "exception")),
    "cancelled": ("cancelled", "", ("allocated", "cancelled")),
    "returned": ("returned", "", ("shipped", "returned")),
}
ROUTE_TO = {name: route for name, (_status, _before, route) in STARTS.items()}
PAIRS = [(start, target) for start in STARTS for target in ALL_STATUSES if target != "received"]


@pytest.fixture
def line_in(advance):
    def line_in(start: str):
        status, before, route = STARTS[start]
        line = OrderLineFactory()
        advance(line, *route)
        assert (line.status, line.status_before_interruption) == (status, before), "the route missed the start"
        return line

    return line_in


def test_the_rules_are_written_against_the_canonical_path():
    assert NORMAL_PATH == PATH
    assert set(ALL_STATUSES) == set(LineStatus.values)


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{c}->{t}" for c, t in PAIRS])
def test_a_status_fact_moves_the_line_exactly_when_the_rules_allow(line_in, sap, t0, start, target):
    # given a line in `current` (interrupting `before`), reached by facts from t0 on
    current, before, _route = STARTS[start]
    line = line_in(start)
    events_before = line.events.count()

    # when a source reports `target`, later than anything the line has seen
    result = apply_status_update(line_id=line.pk, status=target, occurred_at=t0 + timedelta(days=1), actor=sap)

    # then the outcome is the one the rules give, and only an applied fact moves the line
    expected = expected_outcome(current, target, before=before)
    assert result.outcome == expected
    assert result.event.outcome == expected
    line.refresh_from_db()
    assert line.status == (target if expected == "applied" else current)
    assert line.events.count() == events_before + 1


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{c}->{t}" for c, t in PAIRS])
def test_a_fact_older_than_the_route_ends_where_it_would_had_it_come_first(sap, t0, start, target):
    # given a line in `current`, reached by facts one minute apart from t0 on
    route = [(status, t0 + timedelta(minutes=minute)) for minute, status in enumerate(ROUTE_TO[start], start=1)]
    line = OrderLineFactory()
    for status, when in route:
        apply_status_update(line_id=line.pk, status=status, occurred_at=when, actor=sap)

    # when a source reports `target` dated the day before all of them
    older = t0 - timedelta(days=1)
    result = apply_status_update(line_id=line.pk, status=target, occurred_at=older, actor=sap)

    # then the line shows what the rules give for the same facts heard in the order they happened
    line.refresh_from_db()
    assert (line.status, line.status_occurred_at) == where_facts_in_time_order_end([(target, older), *route])
    # and the late fact is in the line's log with its own source time
    assert (result.event.to_status, result.event.occurred_at) == (target, older)


def test_a_path_fact_from_before_a_hold_moves_the_progress_the_line_resumes_from(advance, sap, t0):
    # given a line allocated, then put on hold by the ERP
    line = OrderLineFactory()
    advance(line, "allocated", "on_hold")

    # when the warehouse's picking confirmation, dated before the hold, arrives late
    result = apply_status_update(line_id=line.pk, status="picking", occurred_at=t0 + timedelta(seconds=90), actor=sap)

    # then the line stays on hold but remembers it is being picked
    assert result.outcome == "remembered"
    line.refresh_from_db()
    assert (line.status, line.status_before_interruption) == ("on_hold", "picking")


def test_a_cancellation_dated_before_a_release_wins_whatever_arrives_first(advance, sap, t0):
    # given a line released at t0 + 1 minute
    line = OrderLineFactory()
    advance(line, "released")

    # when a cancellation dated the day before arrives late
    result = apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0 - timedelta(days=1), actor=sap)

    # then the line is cancelled (a release after a cancellation is not a legal move), and the
    # log says so in source time: cancelled, then the release re-judged
    line.refresh_from_db()
    assert line.status == "cancelled"
    assert result.outcome == "applied"


@pytest.mark.parametrize("current", ALL_STATUSES)
def test_no_fact_moves_a_line_back_to_received(line_in, sap, t0, current):
    # given a line in `current`
    line = line_in(current)
    events_before = StatusEvent.objects.filter(line=line).count()

    # when a source reports "received"
    with pytest.raises(ValidationError) as raised:
        apply_status_update(line_id=line.pk, status="received", occurred_at=t0 + timedelta(days=1), actor=sap)

    # then the fact is refused before anything is recorded
    assert "status" in raised.value.message_dict
    assert StatusEvent.objects.filter(line=line).count() == events_before


@pytest.mark.parametrize("current", END_STATES)
def test_a_supervisor_override_is_the_way_out_of_an_end_state(line_in, supervisor, current):
    # given a line that no source fact can move any more
    line = line_in(current)

    # when a supervisor overrides it back to released
    result = line_status_override(
        line_id=line.pk,
        status="released",
        actor=Actor.person(supervisor),
        reason_code="data_fix",
        reason_text="Closed by mistake in the ERP; the part is still to be sent.",
    )

    # then the line is released again
    assert result.outcome == "applied"
    line.refresh_from_db()
    assert line.status == "released"
