"""split_line: child lines whose quantities add up, their own status, and the parent's rollup."""

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import Order, OrderLine, StatusEvent
from orders.services import Actor, SplitPart, apply_status_update, split_line
from orders.services.rollup import order_rollup, rolled_up_status
from orders.status import LineStatus
from tests.factories import OrderLineFactory, SiteFactory

pytestmark = pytest.mark.django_db

PLANNER = Actor.system("test-planner")


def _split(line, *quantities: int, **part_fields) -> list[OrderLine]:
    return split_line(
        line_id=line.pk, parts=[SplitPart(quantity=quantity, **part_fields) for quantity in quantities], actor=PLANNER
    )


def test_a_split_makes_children_that_add_up_to_the_line(line):
    # given a line of 10
    # when it is split 6 + 4
    children = _split(line, 6, 4)

    # then it has two children of 6 and 4 numbered under it, and is itself split
    assert [(child.number, child.quantity) for child in children] == [(f"{line.number}.1", 6), (f"{line.number}.2", 4)]
    assert {child.parent_id for child in children} == {line.pk}
    line.refresh_from_db()
    assert line.is_split
    assert line.quantity == 10


def test_what_the_parts_leave_over_becomes_one_more_child_at_the_line_site(line, t0):
    # given a line of 10 at its own site, expected at t0
    OrderLine.objects.filter(pk=line.pk).update(eta=t0)
    other_site = SiteFactory()

    # when 3 are split off to another site
    children = _split(line, 3, site=other_site, eta=t0 + timedelta(days=2))

    # then the remaining 7 become a second child at the line's site and ETA
    assert [child.quantity for child in children] == [3, 7]
    assert (children[0].site, children[0].eta) == (other_site, t0 + timedelta(days=2))
    assert (children[1].site_id, children[1].eta) == (line.site_id, t0)


def test_children_start_in_the_parents_status(line, advance):
    # given a line held while allocated
    advance(line, "allocated", "on_hold")

    # when it is split
    children = _split(line, 4)

    # then both children are held, remembering where, like the parent
    for child in children:
        child.refresh_from_db()
        assert (child.status, child.status_before_interruption) == ("on_hold", "allocated")
    line.refresh_from_db()
    assert line.status == "on_hold"


def test_a_split_records_events_on_parent_and_children(line):
    # given a line
    # when it is split
    children = _split(line, 4)

    # then each child's history starts with an event in the parent's status, and the parent
    # records the split without a change of status
    for child in children:
        event = StatusEvent.objects.get(line=child)
        assert (event.from_status, event.to_status, event.outcome) == ("", "received", "applied")
    parent_event = StatusEvent.objects.get(line=line, kind="split")
    assert (parent_event.outcome, parent_event.reason_code) == ("unchanged", "split")


@pytest.mark.parametrize(
    "quantities",
    [(6, 5), (11,), (0, 4), (4, -1), (10,), ()],
    ids=["more-than-the-line", "one-part-over", "zero", "negative", "single-child", "no-parts"],
)
def test_an_impossible_split_is_refused(line, quantities):
    # given a line of 10
    # when it is split into parts that overflow it, are empty, or would leave a single child
    with pytest.raises(ValidationError) as raised:
        _split(line, *quantities)

    # then the split is refused and the line is untouched
    assert "parts" in raised.value.message_dict
    line.refresh_from_db()
    assert not line.is_split
    assert not line.children.exists()


def test_a_split_line_cannot_be_split_again(line):
    # given a split line
    _split(line, 5)

    # when the parent is split again
    with pytest.raises(ValidationError) as raised:
        _split(line, 2)

    # then it is refused: split one of its children instead
    assert "line" in raised.value.message_dict
    assert line.children.count() == 2


@pytest.mark.parametrize(
    "route",
    [("delivered",), ("verified",), ("cancelled",), ("shipped", "returned")],
    ids=["delivered", "verified", "cancelled", "returned"],
)
def test_a_line_that_has_arrived_or_ended_cannot_be_split(line, advance, route):
    # given a delivered, verified, cancelled or returned line
    advance(line, *route)

    # when it is split
    with pytest.raises(ValidationError) as raised:
        _split(line, 5)

    # then it is refused
    assert "line" in raised.value.message_dict
    assert not line.children.exists()


def test_a_child_can_be_split_again(line):
    # given a line of 10 split 6 + 4
    first, _second = _split(line, 6)

    # when the child of 6 is split 1 + 5
    grandchildren = _split(first, 1)

    # then it has children of 1 and 5 numbered under it
    assert [(child.number, child.quantity) for child in grandchildren] == [
        (f"{first.number}.1", 1),
        (f"{first.number}.2", 5),
    ]
    first.refresh_from_db()
    assert first.is_split


def test_a_parent_shows_its_least_advanced_child_with_a_rollup_event(line, advance, sap, t0):
    # given a released line split in two
    advance(line, "released")
    shipped_child, backordered_child = _split(line, 4)

    # when one child ships and the other turns out to have no stock
    apply_status_update(line_id=shipped_child.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)
    apply_status_update(
        line_id=backordered_child.pk, status="awaiting_part", occurred_at=t0 + timedelta(hours=2), actor=sap
    )

    # then the parent shows awaiting_part, through an event of the system's rollup
    line.refresh_from_db()
    assert line.status == "awaiting_part"
    rollup_event = StatusEvent.objects.filter(line=line).order_by("sequence").last()
    assert (rollup_event.from_status, rollup_event.to_status, rollup_event.outcome) == (
        "released",
        "awaiting_part",
        "applied",
    )
    assert (rollup_event.actor_kind, rollup_event.actor_label, rollup_event.reason_code) == (
        "system",
        "rollup",
        "rollup",
    )


def test_a_parent_is_delivered_when_all_its_children_are(line, sap, t0):
    # given a line split in two, one child already delivered
    first, second = _split(line, 4)
    apply_status_update(line_id=first.pk, status="delivered", occurred_at=t0, actor=sap)
    line.refresh_from_db()
    assert line.status == "received"

    # when the other child is delivered
    apply_status_update(line_id=second.pk, status="delivered", occurred_at=t0 + timedelta(hours=1), actor=sap)

    # then the parent is delivered
    line.refresh_from_db()
    assert line.status == "delivered"


def test_the_rollup_climbs_through_every_level_of_splits(line, sap, t0):
    # given a line split in two, the first child split again
    first, second = _split(line, 6)
    grandchildren = _split(first, 3)
    apply_status_update(line_id=second.pk, status="packed", occurred_at=t0, actor=sap)

    # when both grandchildren are packed
    for minutes, grandchild in enumerate(grandchildren, start=1):
        apply_status_update(
            line_id=grandchild.pk, status="packed", occurred_at=t0 + timedelta(minutes=minutes), actor=sap
        )

    # then the child and the original line show packed
    first.refresh_from_db()
    line.refresh_from_db()
    assert (first.status, line.status) == ("packed", "packed")


# The property: whatever sequence of splits and facts, the tree stays consistent.

FACT_STATUSES = [status for status in LineStatus.values if status != LineStatus.RECEIVED]
UNSPLITTABLE = {"delivered", "verified", "cancelled", "returned"}
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ETAS = [None, *(T0 + timedelta(days=days) for days in range(1, 6))]


@st.composite
def split_parts(draw, quantity: int) -> list[SplitPart]:
    """A random partition of `quantity` into 2-4 parts; sometimes the last is left to the remainder."""
    cuts = draw(st.sets(st.integers(1, quantity - 1), min_size=1, max_size=min(3, quantity - 1)))
    bounds = [0, *sorted(cuts), quantity]
    sizes = [upper - lower for lower, upper in itertools.pairwise(bounds)]
    if draw(st.booleans()):
        sizes = sizes[:-1]
    return [SplitPart(quantity=size, eta=draw(st.sampled_from(ETAS))) for size in sizes]


def _assert_tree_consistent(order_id: int, quantity: int) -> None:
    lines = list(OrderLine.objects.filter(order_id=order_id))
    children_of: dict[int, list[OrderLine]] = defaultdict(list)
    for line in lines:
        if line.parent_id:
            children_of[line.parent_id].append(line)
    for line in lines:
        children = children_of[line.pk]
        assert line.is_split == bool(children)
        if children:
            assert sum(child.quantity for child in children) == line.quantity
            assert line.status == rolled_up_status([child.status for child in children])
    leaves = [line for line in lines if not line.is_split]
    assert sum(leaf.quantity for leaf in leaves) == quantity
    order = Order.objects.get(pk=order_id)
    expected = order_rollup(leaves)
    assert (order.status, order.progress_percent, order.earliest_eta, order.latest_eta) == (
        expected.status,
        expected.progress_percent,
        expected.earliest_eta,
        expected.latest_eta,
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data(), quantity=st.integers(min_value=1, max_value=12))
def test_any_splits_and_facts_keep_quantities_and_rollups_consistent(data, quantity):
    # given a fresh line
    line = OrderLineFactory(quantity=quantity)
    sap = Actor.integration("SAP-ERP")

    for _step in range(data.draw(st.integers(1, 15), label="steps")):
        leaves = list(OrderLine.objects.filter(order_id=line.order_id, is_split=False).order_by("pk"))
        splittable = [leaf for leaf in leaves if leaf.quantity > 1 and leaf.status not in UNSPLITTABLE]
        # when a random leaf is split in a random way, or gets a status fact at a random time
        if splittable and data.draw(st.booleans(), label="split"):
            leaf = data.draw(st.sampled_from(splittable), label="leaf to split")
            split_line(line_id=leaf.pk, parts=data.draw(split_parts(leaf.quantity), label="parts"), actor=PLANNER)
        else:
            leaf = data.draw(st.sampled_from(leaves), label="leaf")
            apply_status_update(
                line_id=leaf.pk,
                status=data.draw(st.sampled_from(FACT_STATUSES), label="status"),
                # random times, so that some facts arrive late and are recorded as stale
                occurred_at=T0 + timedelta(minutes=data.draw(st.integers(0, 120), label="minutes")),
                actor=sap,
            )

        # then quantities add up at every node and every rollup matches its children or leaves
        _assert_tree_consistent(line.order_id, quantity)
