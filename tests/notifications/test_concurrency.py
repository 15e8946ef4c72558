"""Exactly once on real PostgreSQL row locks: the same event triggered 1,000 times at once, and
one notification sent by 1,000 workers at once, reach the phone once."""

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from notifications.defaults import default_rules_seed
from notifications.handlers import on_change
from notifications.models import Notification
from notifications.services.sending import notification_send
from orders.models import OutboxEvent
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory
from tests.notifications.conftest import throttled_sms_rule

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]
CALLS = 1_000
THREADS = 25  # each with its own connection; together they make the 1,000 calls at once


def run_at_once(call: Callable[[], object], *, calls: int = CALLS, threads: int = THREADS) -> list[object]:
    """`calls` calls spread over `threads` threads released together by a barrier."""
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def run(count: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(count):
                try:
                    outcome = call()
                except Exception as error:  # noqa: BLE001  (handed back to the test to fail on)
                    outcome = error
                with lock:
                    results.append(outcome)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(calls // threads,)) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    errors = [result for result in results if isinstance(result, Exception)]
    assert errors == []
    return results


@pytest.fixture
def shipped_a_part(twilio, contact_for):
    """An A part that shipped before any rule existed: its outbox row (delivered, nothing sent)
    and its requester, whose SMS the test counts."""
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    apply_status_update(
        line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP-ERP")
    )
    event = OutboxEvent.objects.filter(topic="line.status_changed", order=line.order).latest("pk")
    assert Notification.objects.count() == 0
    return event, requester


def test_a_thousand_concurrent_triggers_of_one_event_send_one_sms(shipped_a_part, twilio):
    # given the outbox row of an A part that shipped, and the shipped rules
    event, requester = shipped_a_part
    default_rules_seed()

    # when 1,000 handlers run it concurrently (each sends what it created once it commits)
    run_at_once(lambda: on_change(OutboxEvent.objects.get(pk=event.pk)))

    # then one notification exists for the (event, recipient, channel) and one SMS was sent
    assert Notification.objects.filter(event_key=f"outbox:{event.pk}", channel="sms").count() == 1
    assert [m["to"] for m in twilio.sent()] == [requester.phone]


def test_a_thousand_concurrent_sends_of_one_notification_send_one_sms(shipped_a_part, twilio):
    # given an SMS notification waiting one minute (a throttled rule), not sent yet
    event, requester = shipped_a_part
    throttled_sms_rule()
    on_change(event)
    notification = Notification.objects.get(channel="sms", address=requester.phone)
    assert twilio.sent() == []

    # when 1,000 workers try to send it at once after that minute
    due = notification.due_at + timedelta(seconds=1)
    outcomes = run_at_once(lambda: notification_send(notification_id=notification.pk, now=due))

    # then exactly one sent it
    assert outcomes.count("sent") == 1
    assert len(twilio.sent()) == 1
