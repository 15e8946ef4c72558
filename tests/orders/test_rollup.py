"""Order rollup: status, quantity-weighted progress and ETA range from the order's leaf lines."""

from datetime import timedelta
from decimal import Decimal

import pytest

from orders.models import Order
from orders.services import Actor, SplitPart, line_status_override, split_line
from orders.status import PROGRESS_WEIGHT
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(db):
    return OrderFactory()


@pytest.fixture
def three_lines(order, advance):
    """Quantities 1, 1 and 2: shipped, allocated and picking."""
    shipped = OrderLineFactory(order=order, number="10", quantity=1)
    allocated = OrderLineFactory(order=order, number="20", quantity=1)
    picking = OrderLineFactory(order=order, number="30", quantity=2)
    advance(shipped, "shipped")
    advance(allocated, "allocated")
    advance(picking, "picking")
    return shipped, allocated, picking


def _refreshed(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def test_the_weights_these_tests_assume():
    assert (PROGRESS_WEIGHT["shipped"], PROGRESS_WEIGHT["allocated"], PROGRESS_WEIGHT["picking"]) == (0.7, 0.2, 0.35)


def test_order_shows_its_least_advanced_line_and_quantity_weighted_progress(order, three_lines):
    # given lines of 1 shipped, 1 allocated and 2 picking
    # when the order is read
    order = _refreshed(order)

    # then it is allocated, and (0.7 * 1 + 0.2 * 1 + 0.35 * 2) / 4 = 40 % of the way
    assert order.status == "allocated"
    assert order.progress_percent == Decimal("40.00")


def test_cancelled_lines_are_left_out_of_progress(order, three_lines, advance):
    # given lines of 1 shipped, 1 allocated and 2 picking
    _shipped, allocated, _picking = three_lines

    # when the allocated line is cancelled
    advance(allocated, "cancelled")

    # then progress counts the other three pieces only: (0.7 * 1 + 0.35 * 2) / 3 = 46.67 %
    order = _refreshed(order)
    assert order.progress_percent == Decimal("46.67")
    assert order.status == "picking"


def test_a_held_line_counts_the_progress_of_where_it_was_held(order, three_lines, advance):
    # given lines of 1 shipped, 1 allocated and 2 picking
    _shipped, _allocated, picking = three_lines

    # when the picking line is put on hold
    advance(picking, "on_hold")

    # then the order shows the hold, and progress still counts it as picking
    order = _refreshed(order)
    assert order.status == "on_hold"
    assert order.progress_percent == Decimal("40.00")


def test_a_line_in_exception_counts_the_progress_of_where_it_went_wrong(order, three_lines, advance):
    # given lines of 1 shipped, 1 allocated and 2 picking
    shipped, _allocated, _picking = three_lines

    # when the carrier reports damage on the shipped line
    advance(shipped, "exception")

    # then the order shows the exception first, and progress still counts the line as shipped
    order = _refreshed(order)
    assert order.status == "exception"
    assert order.progress_percent == Decimal("40.00")


def test_a_line_held_by_a_supervisor_counts_the_progress_of_where_it_was_held(order, three_lines, supervisor):
    # given lines of 1 shipped, 1 allocated and 2 picking
    shipped, _allocated, _picking = three_lines

    # when a supervisor puts the shipped line on hold by hand
    line_status_override(
        line_id=shipped.pk,
        status="on_hold",
        actor=Actor.person(supervisor),
        reason_code="customer_request",
        reason_text="Customer asked us to stop the delivery until Monday.",
    )

    # then progress still counts it as shipped
    order = _refreshed(order)
    assert order.status == "on_hold"
    assert order.progress_percent == Decimal("40.00")


def test_an_order_of_cancelled_lines_is_cancelled_with_no_progress(order, advance):
    # given an order of two lines
    first = OrderLineFactory(order=order, number="10")
    second = OrderLineFactory(order=order, number="20")
    advance(first, "allocated")

    # when both are cancelled
    advance(first, "cancelled")
    advance(second, "cancelled")

    # then the order is cancelled, 0 % of the way
    order = _refreshed(order)
    assert (order.status, order.progress_percent) == ("cancelled", Decimal("0.00"))


def test_a_split_line_counts_through_its_children(order, advance):
    # given a line of 4 split 1 + 3
    line = OrderLineFactory(order=order, quantity=4)
    first, rest = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.system("test"))

    # when the child of 1 is delivered and the child of 3 is allocated
    advance(first, "delivered")
    advance(rest, "allocated")

    # then progress is (1.0 * 1 + 0.2 * 3) / 4 = 40 %, the parent not counted on top
    order = _refreshed(order)
    assert order.progress_percent == Decimal("40.00")
    assert order.status == "allocated"


def test_the_eta_range_covers_the_lines_still_to_arrive(order, advance, t0):
    # given four lines expected on days 1, 2, 3 and 5
    delivered = OrderLineFactory(order=order, number="10", eta=t0 + timedelta(days=1))
    cancelled = OrderLineFactory(order=order, number="20", eta=t0 + timedelta(days=2))
    held = OrderLineFactory(order=order, number="30", eta=t0 + timedelta(days=3))
    shipped = OrderLineFactory(order=order, number="40", eta=t0 + timedelta(days=5))

    # when the first is delivered, the second cancelled, the third held and the fourth shipped
    advance(delivered, "delivered")
    advance(cancelled, "cancelled")
    advance(held, "on_hold")
    advance(shipped, "shipped")

    # then the ETA range is that of the held and the shipped line
    order = _refreshed(order)
    assert order.earliest_eta == t0 + timedelta(days=3)
    assert order.latest_eta == t0 + timedelta(days=5)


def test_an_order_with_everything_arrived_has_no_eta(order, advance, t0):
    # given a line expected on day 1
    line = OrderLineFactory(order=order, eta=t0 + timedelta(days=1))
    advance(line, "shipped")
    assert _refreshed(order).earliest_eta == t0 + timedelta(days=1)

    # when it is delivered
    advance(line, "delivered")

    # then nothing is left to arrive
    order = _refreshed(order)
    assert (order.earliest_eta, order.latest_eta) == (None, None)
    assert (order.status, order.progress_percent) == ("delivered", Decimal("100.00"))
