"""The outbox: rows written with the change, one delivery per handler, delivered after commit
outside any transaction, retried with backoff, taken over when a worker dies, dead after the
limit and delivered again on request."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from orders.models import DeliveryState, OutboxDelivery, OutboxEvent
from orders.publication import Topic, handlers_for, register_handler, unregister_handler
from orders.services import apply_status_update
from orders.services.outbox import outbox_deliver_due, outbox_publish, outbox_redeliver
from orders.tasks import outbox_dispatch, outbox_sweep
from overrides.handlers import on_override_contested

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


class WorkerStopped(BaseException):
    """The worker process stops in the middle of a handler (nothing after it runs)."""


def _ship(line, sap, t0):
    return apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0, actor=sap)


def _delivery(line, handler: str) -> OutboxDelivery:
    return OutboxDelivery.objects.get(event__order=line.order, handler=handler)


def test_a_status_change_writes_an_outbox_row_and_its_deliveries_to_send_after_commit(
    line, sap, t0, delivered, django_capture_on_commit_callbacks
):
    # given a line
    # when its status changes, its transaction not yet committed
    with django_capture_on_commit_callbacks() as callbacks:
        result = _ship(line, sap, t0)

    # then the change is in the outbox with one pending delivery per handler, waiting for the commit
    row = OutboxEvent.objects.get(order=line.order)
    assert row.topic == Topic.LINE_STATUS_CHANGED
    assert row.payload["line_id"] == line.pk
    assert row.payload["event_id"] == result.event.pk
    assert (row.payload["from_status"], row.payload["to_status"]) == ("received", "shipped")
    assert row.payload["order_status"] == "shipped"
    assert row.dispatched_at is None
    states = dict(row.deliveries.values_list("handler", "state"))
    assert states == {registration.name: "pending" for registration in handlers_for(Topic.LINE_STATUS_CHANGED)}
    assert {"orders.live", "tests.recorder"} <= set(states)
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
    assert not OutboxDelivery.objects.exists()
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

    # then the handler has received the change, its delivery is recorded and the row dispatched
    row = OutboxEvent.objects.get(order=line.order)
    assert delivered == [(row.pk, row.payload)]
    assert row.dispatched_at is not None
    recorder = _delivery(line, "tests.recorder")
    assert (recorder.state, recorder.attempts, recorder.leased_until) == (DeliveryState.DELIVERED, 1, None)
    assert recorder.delivered_at is not None


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

    # then that handler's delivery waits with the error and a time for the next attempt
    failed = _delivery(line, "tests.flaky")
    assert (failed.state, failed.attempts, failed.leased_until) == (DeliveryState.PENDING, 1, None)
    assert failed.last_error == "ConnectionError: SMS gateway timed out"
    assert failed.next_attempt_at > timezone.now()
    assert _delivery(line, "tests.recorder").state == DeliveryState.DELIVERED
    assert row.dispatched_at is None

    # when the sweep runs before the retry is due
    # then it leaves the delivery alone
    assert outbox_sweep() == 0
    assert flaky.calls == 1

    # when the gateway is back and the retry is due
    flaky.failing = False
    assert outbox_deliver_due(now=failed.next_attempt_at + timedelta(seconds=1)) == 1

    # then the failed handler gets the row, the healthy one is not called a second time
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (DeliveryState.DELIVERED, 2)
    assert flaky.calls == 2
    assert len(delivered) == 1
    row.refresh_from_db()
    assert row.dispatched_at is not None


def test_a_delivery_is_dead_after_the_maximum_attempts_and_redelivered_on_request(
    line, sap, t0, flaky, settings, django_capture_on_commit_callbacks
):
    # given a handler whose gateway stays down, with two attempts allowed
    settings.OUTBOX_MAX_ATTEMPTS = 2
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)
    retry_at = _delivery(line, "tests.flaky").next_attempt_at

    # when its retry fails too
    assert outbox_deliver_due(now=retry_at + timedelta(seconds=1)) == 1

    # then it is dead with its error, and no sweep tries it again
    dead = _delivery(line, "tests.flaky")
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 2)
    assert dead.last_error == "ConnectionError: SMS gateway timed out"
    assert outbox_deliver_due(now=timezone.now() + timedelta(days=1)) == 0
    assert flaky.calls == 2

    # when the gateway is fixed and a person delivers it again
    flaky.failing = False
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_redeliver(delivery_ids=[dead.pk]) == 1

    # then it is delivered, from a first attempt, and the row is dispatched
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (DeliveryState.DELIVERED, 1)
    assert flaky.calls == 3
    assert OutboxEvent.objects.get(order=line.order).dispatched_at is not None


def test_a_delivery_whose_worker_died_is_taken_over_once_its_lease_runs_out(line, sap, t0, settings):
    # given a handler that stops its worker the first time it is called
    settings.OUTBOX_LEASE_SECONDS = 120
    calls = []

    def handler(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise WorkerStopped

    register_handler(name="tests.dies-once", topics=[Topic.LINE_STATUS_CHANGED], handler=handler)
    try:
        _ship(line, sap, t0)
        with pytest.raises(WorkerStopped):
            outbox_sweep()
        held = _delivery(line, "tests.dies-once")
        assert (held.state, held.attempts) == (DeliveryState.PENDING, 1)

        # when the sweep runs while the lease still runs, and again once it has run out
        during = outbox_deliver_due(now=timezone.now() + timedelta(seconds=60))
        after = outbox_deliver_due(now=held.leased_until + timedelta(seconds=1))
    finally:
        unregister_handler("tests.dies-once")

    # then the first leaves it to its (dead) worker, the second takes it over and delivers it
    assert during == 0
    assert after >= 1
    assert len(calls) == 2
    held.refresh_from_db()
    assert (held.state, held.attempts, held.leased_until) == (DeliveryState.DELIVERED, 2, None)
    # and what the worker finished before it stopped was recorded, not delivered twice
    live = _delivery(line, "orders.live")
    assert (live.state, live.attempts) == (DeliveryState.DELIVERED, 1)


def test_a_delivery_whose_worker_died_on_its_last_attempt_is_dead(line, sap, t0, settings):
    # given one attempt allowed, and a handler that stops its worker
    settings.OUTBOX_MAX_ATTEMPTS = 1

    def handler(event):
        raise WorkerStopped

    register_handler(name="tests.dies", topics=[Topic.LINE_STATUS_CHANGED], handler=handler)
    try:
        _ship(line, sap, t0)
        with pytest.raises(WorkerStopped):
            outbox_sweep()
        held = _delivery(line, "tests.dies")

        # when its lease runs out
        taken = outbox_deliver_due(now=held.leased_until + timedelta(seconds=1))
    finally:
        unregister_handler("tests.dies")

    # then it is dead, saying why, not tried again
    assert taken == 0
    held.refresh_from_db()
    assert held.state == DeliveryState.DEAD
    assert "stopped before it finished" in held.last_error


def test_a_handler_no_worker_knows_is_retried_then_dead_with_its_name(line, sap, t0, settings):
    # given a delivery for a handler that was renamed since (no process registers it)
    settings.OUTBOX_MAX_ATTEMPTS = 1
    register_handler(name="tests.renamed", topics=[Topic.LINE_STATUS_CHANGED], handler=lambda event: None)
    _ship(line, sap, t0)
    unregister_handler("tests.renamed")

    # when it is due
    outbox_sweep()

    # then it is dead, naming the handler nobody has
    dead = _delivery(line, "tests.renamed")
    assert dead.state == DeliveryState.DEAD
    assert "'tests.renamed'" in dead.last_error


def test_the_sweep_delivers_rows_whose_wake_up_was_lost(line, sap, t0, delivered):
    # given a change whose after-commit wake-up never ran (here: the test's transaction never commits)
    _ship(line, sap, t0)
    row = OutboxEvent.objects.get(order=line.order)
    assert delivered == []

    # when the sweep runs
    swept = outbox_sweep()

    # then it delivers the row to each handler
    assert swept == len(handlers_for(Topic.LINE_STATUS_CHANGED))  # orders.live, tests.recorder, other apps'
    assert delivered == [(row.pk, row.payload)]
    row.refresh_from_db()
    assert row.dispatched_at is not None


def test_a_delivered_row_is_not_delivered_again(line, sap, t0, delivered, django_capture_on_commit_callbacks):
    # given a delivered change
    with django_capture_on_commit_callbacks(execute=True):
        _ship(line, sap, t0)
    row = OutboxEvent.objects.get(order=line.order)

    # when its task is redelivered by the broker, and the sweep runs
    outbox_dispatch(row.pk)
    outbox_sweep()

    # then the handler still has it once
    assert delivered == [(row.pk, row.payload)]


def test_a_topic_no_handler_wants_is_dispatched_as_it_is_written(line, sap, t0, django_capture_on_commit_callbacks):
    # given no handler for contested overrides but the back office's, which is taken away here
    unregister_handler("overrides.contested")
    try:
        assert handlers_for(Topic.OVERRIDE_CONTESTED) == []
        # when a change nobody wants is published
        with django_capture_on_commit_callbacks() as callbacks:
            row = outbox_publish(topic=Topic.OVERRIDE_CONTESTED, order=line.order, payload={"line_id": line.pk})
    finally:
        register_handler(name="overrides.contested", topics=[Topic.OVERRIDE_CONTESTED], handler=on_override_contested)

    # then it is kept, already dispatched, and nothing is woken for it
    row.refresh_from_db()
    assert row.dispatched_at is not None
    assert not row.deliveries.exists()
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_handlers_run_outside_any_transaction_and_one_failure_keeps_the_others(line, sap, t0, flaky):
    # given a handler that writes to the database and notes whether it runs in a transaction
    seen = []

    def handler(event):
        seen.append(connection.in_atomic_block)
        OutboxEvent.objects.create(topic="tests.side-effect", payload={"from": event.pk})

    register_handler(name="tests.writer", topics=[Topic.LINE_STATUS_CHANGED], handler=handler)
    try:
        # when a change commits (and the failing handler fails beside it)
        _ship(line, sap, t0)
    finally:
        unregister_handler("tests.writer")

    # then the handler ran in no transaction, and its write stays although the other failed
    assert seen == [False]
    assert OutboxEvent.objects.filter(topic="tests.side-effect").count() == 1
    assert _delivery(line, "tests.writer").state == DeliveryState.DELIVERED
    assert _delivery(line, "tests.flaky").state == DeliveryState.PENDING
    assert flaky.calls == 1
