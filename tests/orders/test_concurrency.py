"""Concurrent writers on real PostgreSQL row locks: one fact twice at once, two lines at once,
upserts and status updates of the same orders at once (the one lock order: no deadlock)."""

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order, OrderLine, StatusEvent
from orders.services import Actor, LineData, OrderData, Provenance, apply_status_update, order_upsert
from orders.services.bulk import StatusFact, status_facts_apply
from orders.services.rollup import order_rollup
from tests.factories import AccountFactory, OrderFactory, OrderLineFactory, PartFactory, SiteFactory

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
    assert StatusEvent.objects.filter(line=line, kind="fact").count() == 1
    line.refresh_from_db()
    assert (line.status, line.audit_sequence) == ("shipped", 2)  # its start, then the fact


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


def test_upserts_and_status_updates_of_the_same_orders_at_once_never_deadlock(sap, t0):
    # given two orders of two lines each, known to the ERP
    erp = Provenance(source_system="sap-erp")
    account = AccountFactory()
    site = SiteFactory()
    part = PartFactory()

    def order_data(number: str, eta_day: int) -> OrderData:
        return OrderData(
            number=number,
            account_number=account.number,
            lines=tuple(
                LineData(
                    number=line,
                    part_number=part.number,
                    quantity=2,
                    site_code=site.code,
                    eta=t0 + timedelta(days=eta_day),
                )
                for line in ("10", "20")
            ),
        )

    orders = [order_upsert(data=order_data(number, 1), actor=sap, provenance=erp) for number in ("SO-A", "SO-B")]
    lines = [list(OrderLine.objects.filter(order=order).order_by("pk")) for order in orders]
    statuses = ["released", "allocated", "picking", "packed", "shipped", "in_transit", "delivered"]

    # when, at the same time, the ERP keeps re-sending both orders (new ETAs), one worker applies
    # facts line by line from the last line to the first, and another applies batches that span
    # both orders in the opposite order
    def upserts():
        for day in range(2, 12):
            for number in ("SO-B", "SO-A"):
                order_upsert(data=order_data(number, day), actor=sap, provenance=erp)

    def singles():
        for minute, status in enumerate(statuses):
            for line in [*lines[1][::-1], *lines[0][::-1]]:
                apply_status_update(
                    line_id=line.pk, status=status, occurred_at=t0 + timedelta(minutes=minute), actor=sap
                )

    def batches():
        for minute, status in enumerate(statuses):
            facts = [
                StatusFact(
                    line_id=line.pk,
                    status=status,
                    occurred_at=t0 + timedelta(minutes=minute, seconds=30),
                    actor=Actor.integration("ewm"),
                    provenance=Provenance(source_system="ewm"),
                )
                for line in [*lines[0], *lines[1]]
            ]
            status_facts_apply(facts=facts)

    # then none of them fails (PostgreSQL reports a deadlock as an error), and every line ends delivered
    _run_at_once(upserts, singles, batches)
    assert set(OrderLine.objects.filter(order__in=orders).values_list("status", flat=True)) == {"delivered"}
