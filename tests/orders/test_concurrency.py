"""Concurrent writers on real PostgreSQL row locks: one fact twice at once, two lines at once."""

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order, OrderLine, StatusEvent
from orders.services import apply_status_update
from orders.services.rollup import order_rollup
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def _run_at_once(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread with its own connection, released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:  # noqa: BLE001  (handed back to the test to fail on)
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


def test_the_same_fact_from_two_workers_at_once_is_recorded_once(line, sap, t0):
    # given one fact delivered twice, to two workers at the same moment
    def deliver():
        return apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap, fact_id="GI-1")

    # when both apply it at once
    results = _run_at_once(deliver, deliver)

    # then one applied it and the other saw a duplicate of the same event
    assert sorted(result.outcome for result in results) == ["applied", "duplicate"]
    assert results[0].event.pk == results[1].event.pk
    assert StatusEvent.objects.filter(line=line).count() == 1
    line.refresh_from_db()
    assert (line.status, line.audit_sequence) == ("shipped", 1)


@pytest.mark.parametrize("attempt", range(5))
def test_two_lines_of_an_order_changed_at_once_leave_a_correct_rollup(sap, t0, attempt):
    # given an order of two lines of 1 and 3
    order = OrderFactory()
    first = OrderLineFactory(order=order, number="10", quantity=1)
    second = OrderLineFactory(order=order, number="20", quantity=3)

    # when one ships and the other is allocated at the same moment
    _run_at_once(
        lambda: apply_status_update(line_id=first.pk, status="shipped", occurred_at=t0, actor=sap),
        lambda: apply_status_update(
            line_id=second.pk, status="allocated", occurred_at=t0 + timedelta(seconds=1), actor=sap
        ),
    )

    # then the order's rollup counts both: allocated, (0.7 * 1 + 0.2 * 3) / 4 = 32.5 %
    order = Order.objects.get(pk=order.pk)
    assert (order.status, order.progress_percent) == ("allocated", Decimal("32.50"))
    expected = order_rollup(list(OrderLine.objects.filter(order=order)))
    assert (order.status, order.progress_percent) == (expected.status, expected.progress_percent)
