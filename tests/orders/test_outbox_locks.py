"""While a handler runs (here: waits on a gateway), the outbox holds no row lock: other writers
lock the change and its delivery at once (NOWAIT), and no second worker takes the delivery."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.db.utils import ConnectionHandler

from orders.models import DeliveryState, OutboxDelivery, OutboxEvent
from orders.publication import Topic, register_handler, unregister_handler
from orders.services import apply_status_update
from orders.services.outbox import outbox_deliver_due

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_no_row_lock_is_held_while_a_handler_runs(line, sap, t0):
    # given a handler whose gateway failed once, and that blocks on its retry until released
    entered, release, calls = threading.Event(), threading.Event(), []

    def slow(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise ConnectionError("gateway down")
        entered.set()
        release.wait(timeout=30)

    register_handler(name="tests.slow", topics=[Topic.LINE_STATUS_CHANGED], handler=slow)
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)
    row = OutboxEvent.objects.get(order=line.order)
    due = OutboxDelivery.objects.get(event=row, handler="tests.slow").next_attempt_at + timedelta(seconds=1)

    worker = threading.Thread(target=lambda: (outbox_deliver_due(now=due), connections.close_all()))
    try:
        # when a worker is inside the handler's retry
        worker.start()
        assert entered.wait(timeout=30), "the handler was never called again"

        # then another connection locks the change and its delivery without waiting
        other = ConnectionHandler(connections.settings)["default"]
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(f"SELECT id FROM {OutboxEvent._meta.db_table} WHERE id = %s FOR UPDATE NOWAIT", [row.pk])
                cursor.execute(
                    f"SELECT id FROM {OutboxDelivery._meta.db_table} WHERE event_id = %s FOR UPDATE NOWAIT", [row.pk]
                )
                cursor.execute("ROLLBACK")
        finally:
            other.close()
        # and a second worker does not take the leased delivery
        assert outbox_deliver_due(now=due) == 0
    finally:
        release.set()
        worker.join(timeout=30)
        unregister_handler("tests.slow")

    # and once the handler returns, its delivery is recorded
    delivery = OutboxDelivery.objects.get(event=row, handler="tests.slow")
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)
    assert len(calls) == 2
