"""The outbox: rows written with the change, delivered after commit, retried, swept up when lost."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from orders.models import OutboxEvent
from orders.publication import Topic, register_handler, unregister_handler
from orders.services import apply_status_update
from orders.tasks import outbox_dispatch, outbox_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered():
    """(row id, payload) of every row a healthy test handler receives."""
    received: list[tuple[int, dict]] = []
    register_handler(
        name="tests.recorder",
        topics=[Topic.LINE_STATUS_CHANGED],
        handler=lambda event: received.append((event.pk, event.payload)),
    )
    yield received
    unregister_handler("tests.recorder")


class FlakyHandler:
    """Fails like an unreachable gateway until `failing` is switched off."""

    def __init__(self) -> None:
        self.failing = True
        self.calls = 0

    def __call__(self, event: OutboxEvent) -> None:
        self.calls += 1
        if self.failing:
            raise ConnectionError("SMS gateway timed out")


@pytest.fixture
def flaky():
    handler = FlakyHandler()
    register_handler(name="tests.flaky", topics=[Topic.LINE_STATUS_CHANGED], handler=handler)
    yield handler
    unregister_handler("tests.flaky")


def _ship(line, sap, t0):
    return apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)


def test_a_status_change_writes_an_outbox_row_to_deliver_after_commit(
    line, sap, t0, delivered, django_capture_on_commit_callbacks
):
    # given a line
    # when its status changes, its transaction not yet committed
    with django_capture_on_commit_callbacks() as callbacks:
        result = _ship(line, sap, t0)

    # then the change is in the outbox, waiting for the commit to send it
    row = OutboxEvent.objects.get(order=line.order)
    assert row.topic == Topic.LINE_STATUS_CHANGED
    assert row.payload["line_id"] == line.pk
    assert row.payload["event_id"] == result.event.pk
    assert (row.payload["from_status"], row.payload["to_status"]) == ("received", "shipped")
    assert row.payload["order_status"] == "shipped"
    assert row.dispatched_at is None
    assert len(callbacks) == 1
    assert delivered == []


def test_the_outbox_row_is_rolled_back_with_the_change(line, sap, t0, delivered, django_capture_on_commit_callbacks):
    # given a line
    # when its status changes inside a transaction that then fails
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _ship(line, sap, t0)
        assert OutboxEvent.objects.filter(order=line.order).exists()
        raise RuntimeError("the caller's transaction fails after the change")

    # then neither the change nor its outbox row nor its delivery survives
    assert not OutboxEvent.objects.filter(order=line.order).exists()
    assert callbacks == []
    assert delivered == []
    line.refresh_from_db()
    assert line.status == "received"


def test_after_commit_the_row_is_delivered_to_the_handlers(
    line, sap, t0, delivered, django_capture_on_commit_callbacks
):
    # given a line
    # when its status changes and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)

    # then the handler has received the change and the row is marked dispatched
    row = OutboxEvent.objects.get(order=line.order)
    assert delivered == [(row.pk, row.payload)]
    assert row.dispatched_at is not None
    assert row.attempts == 1
    assert "tests.recorder" in row.delivered_to


def test_facts_that_change_nothing_publish_nothing(line, advance, sap, t0):
    # given a shipped line
    advance(line, "shipped")
    rows_before = OutboxEvent.objects.count()

    # when a late, a repeated and a rejected fact arrive
    apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(days=1), actor=sap)
    apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0 + timedelta(days=1), actor=sap)

    # then no one is told about a change
    assert OutboxEvent.objects.count() == rows_before


def test_imported_history_is_not_published(line, sap, t0):
    # when a fact of the past is imported without publication
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap, publish=False)

    # then the line moves but nothing goes to the outbox
    line.refresh_from_db()
    assert line.status == "shipped"
    assert not OutboxEvent.objects.exists()


def test_a_failing_handler_is_retried_without_repeating_the_others(
    line, sap, t0, delivered, flaky, django_capture_on_commit_callbacks
):
    # given a change delivered once while one handler's gateway is down
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)
    row = OutboxEvent.objects.get(order=line.order)

    # then the row stays pending with the error and a time for the next attempt
    assert row.dispatched_at is None
    assert row.attempts == 1
    assert "tests.flaky: ConnectionError: SMS gateway timed out" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert "tests.recorder" in row.delivered_to
    assert "tests.flaky" not in row.delivered_to

    # when the sweep runs before the retry is due
    # then it leaves the row alone
    assert outbox_sweep() == 0
    assert flaky.calls == 1

    # when the gateway is back and the retry is due
    flaky.failing = False
    OutboxEvent.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1

    # then the failed handler gets the row, the healthy one is not called a second time
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert (row.attempts, row.last_error) == (2, "")
    assert "tests.flaky" in row.delivered_to
    assert flaky.calls == 2
    assert len(delivered) == 1


def test_a_row_is_given_up_after_the_maximum_attempts(
    line, sap, t0, flaky, settings, django_capture_on_commit_callbacks
):
    # given a row that failed once, with one attempt allowed
    settings.OUTBOX_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)
    OutboxEvent.objects.filter(order=line.order).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    # when the sweep runs
    # then it does not try again
    assert outbox_sweep() == 0
    assert flaky.calls == 1


def test_the_sweep_delivers_rows_whose_task_was_lost(line, sap, t0, delivered, settings):
    # given a change whose after-commit task never ran (here: the test's transaction never commits)
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    _ship(line, sap, t0)
    row = OutboxEvent.objects.get(order=line.order)
    assert delivered == []

    # when the sweep runs
    swept = outbox_sweep()

    # then it delivers the row
    assert swept == 1
    assert delivered == [(row.pk, row.payload)]
    row.refresh_from_db()
    assert row.dispatched_at is not None


def test_the_sweep_leaves_fresh_rows_to_their_own_task(line, sap, t0, delivered, settings):
    # given a change just made, its after-commit task possibly still on its way
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 60
    _ship(line, sap, t0)

    # when the sweep runs
    # then it does not race the task
    assert outbox_sweep() == 0
    assert delivered == []


def test_a_delivered_row_is_not_delivered_again(line, sap, t0, delivered, django_capture_on_commit_callbacks):
    # given a delivered change
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)
    row = OutboxEvent.objects.get(order=line.order)

    # when its task is redelivered by the broker
    outbox_dispatch(row.pk)

    # then the handler still has it once
    assert delivered == [(row.pk, row.payload)]
