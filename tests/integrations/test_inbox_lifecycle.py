"""Every accepted message reaches an end state: attempts counted before processing, leases that
run out when a worker dies, one bad message isolated from its batch, the sweep's marks, and an
intake that answers 202 whatever the broker does."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import ErrorKind, InboundMessage, MessageState, Transport
from integrations.services.inbox import inbound_message_receive, inbound_requeue_due
from integrations.services.processing import inbound_batch_process, inbound_message_process
from orders.models import OrderLine
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db


def _document(message_id: str, *, order="SO-1000001", line="10", status="picking", **fields) -> str:
    fact = {"order": order, "line": line, "status": status, "occurred_at": "2026-11-02T09:00:00Z", **fields}
    return json.dumps({"message_id": message_id, "statuses": [fact]})


def _receive(source, raw: str) -> InboundMessage:
    message, _created = inbound_message_receive(source=source, raw=raw, transport=Transport.WEBHOOK)
    return message


def _worker_died_holding(message: InboundMessage, *, attempts: int, expired_at) -> None:
    """The row a worker leaves when it is killed after counting its attempt: attempts counted,
    the lease still set (nobody recorded an outcome), and now run out."""
    InboundMessage.objects.filter(pk=message.pk).update(attempts=attempts, lease_expires_at=expired_at)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce column lengths")
def test_a_message_the_database_refuses_is_dead_alone_and_its_batch_is_applied(canonical_source):
    # given three plain status messages for three lines, the middle one with a reason code longer
    # than the event log holds (the schema allows 200 characters, the column 40)
    lines = [OrderLineFactory(order__number=f"SO-20{n}", number="10") for n in range(3)]
    messages = [
        _receive(
            canonical_source, _document(f"b-{n}", order=f"SO-20{n}", **({"reason_code": "R" * 100} if n == 1 else {}))
        )
        for n in range(3)
    ]

    # when one worker takes them in one batch
    inbound_batch_process(limit=10)

    # then the refused one is dead at its first attempt, as bad data, with what to do about it
    healthy_a, refused, healthy_b = (InboundMessage.objects.get(pk=m.pk) for m in messages)
    assert (refused.state, refused.attempts, refused.error_kind) == (MessageState.DEAD, 1, ErrorKind.PERMANENT)
    assert "does not fit the database" in refused.last_error and "resend" in refused.last_error
    assert refused.lease_expires_at is None
    # and the others of its batch are applied
    assert [healthy_a.state, healthy_b.state] == [MessageState.PROCESSED, MessageState.PROCESSED]
    statuses = OrderLine.objects.filter(pk__in=[line.pk for line in lines]).order_by("order__number")
    assert list(statuses.values_list("status", flat=True)) == ["picking", "received", "picking"]


def test_the_attempt_is_counted_and_the_lease_given_back_with_the_outcome(canonical_source, order_line):
    message = _receive(canonical_source, _document("c-1"))

    inbound_message_process(message_id=message.pk)

    message.refresh_from_db()
    assert (message.state, message.attempts, message.lease_expires_at) == (MessageState.PROCESSED, 1, None)


def test_a_message_whose_worker_died_is_not_taken_while_the_lease_runs(canonical_source, order_line, settings):
    # given a message a worker claimed a moment ago (its lease still running), and a newer one
    now = timezone.now()
    message = _receive(canonical_source, _document("c-2"))
    _worker_died_holding(message, attempts=1, expired_at=now + timedelta(seconds=60))
    newer = _receive(canonical_source, _document("c-2b", line="20"))
    OrderLineFactory(order=order_line.order, number="20")

    # then neither its own task nor a batch takes it, and the sweep leaves it alone
    assert inbound_message_process(message_id=message.pk, now=now) is None
    assert message.pk not in inbound_requeue_due(stale_after=timedelta(seconds=0), now=now)
    assert [m.pk for m in inbound_batch_process(limit=10, now=now)] == [newer.pk]

    # when the lease has run out, the sweep queues it and it is taken, alone
    later = now + timedelta(seconds=61)
    newest = _receive(canonical_source, _document("c-2c", status="packed"))
    assert message.pk in inbound_requeue_due(stale_after=timedelta(seconds=30), now=later)
    assert [m.pk for m in inbound_batch_process(limit=10, now=later)] == [message.pk]  # oldest, alone
    message.refresh_from_db()
    assert (message.state, message.attempts, message.requeue_count) == (MessageState.PROCESSED, 2, 1)
    assert [m.pk for m in inbound_batch_process(limit=10, now=later)] == [newest.pk]


def test_a_message_that_kills_its_worker_every_time_ends_dead_after_the_attempt_limit(
    canonical_source, order_line, settings
):
    # given a message whose worker died holding it at every attempt, the last one included
    settings.INBOUND_MAX_ATTEMPTS = 3
    now = timezone.now()
    message = _receive(canonical_source, _document("c-3"))
    _worker_died_holding(message, attempts=3, expired_at=now - timedelta(seconds=1))

    # when the sweep queues it again and its task runs
    assert inbound_requeue_due(stale_after=timedelta(seconds=30), now=now) == [message.pk]
    assert inbound_message_process(message_id=message.pk, now=now) == MessageState.DEAD

    # then it is dead, with the reason, and nothing of it applied
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.last_error.startswith("gave up after 3 attempts: the worker stopped while processing it")
    assert OrderLine.objects.get(pk=order_line.pk).status == "received"


def test_the_sweep_queues_only_lost_abandoned_or_due_messages_and_marks_them(canonical_source, order_line):
    now = timezone.now()
    fresh = _receive(canonical_source, _document("s-fresh"))
    lost = _receive(canonical_source, _document("s-lost"))
    InboundMessage.objects.filter(pk=lost.pk).update(received_at=now - timedelta(minutes=5))
    held = _receive(canonical_source, _document("s-held"))
    _worker_died_holding(held, attempts=1, expired_at=now + timedelta(minutes=1))
    abandoned = _receive(canonical_source, _document("s-abandoned"))
    _worker_died_holding(abandoned, attempts=1, expired_at=now - timedelta(seconds=1))
    waiting_retry = _receive(canonical_source, _document("s-later"))
    due_retry = _receive(canonical_source, _document("s-due"))
    InboundMessage.objects.filter(pk=waiting_retry.pk).update(
        state=MessageState.RETRYING, attempts=1, next_attempt_at=now + timedelta(minutes=1)
    )
    InboundMessage.objects.filter(pk=due_retry.pk).update(
        state=MessageState.RETRYING, attempts=1, next_attempt_at=now - timedelta(seconds=1)
    )

    # when the sweep runs
    queued = inbound_requeue_due(stale_after=timedelta(seconds=30), now=now)

    # then it queued the lost, the abandoned and the due retry, and marked them
    assert queued == [lost.pk, abandoned.pk, due_retry.pk]
    marked = InboundMessage.objects.filter(requeued_at=now, requeue_count=1)
    assert set(marked.values_list("pk", flat=True)) == set(queued)
    assert fresh.pk not in queued and held.pk not in queued and waiting_retry.pk not in queued
    # and the next sweeps do not queue them again before their time: the lost one waits longer each time
    assert inbound_requeue_due(stale_after=timedelta(seconds=30), now=now + timedelta(seconds=2)) == []
    assert inbound_requeue_due(stale_after=timedelta(seconds=30), now=now + timedelta(seconds=31)) == [
        fresh.pk,
        abandoned.pk,
        due_retry.pk,
    ]
    assert lost.pk in inbound_requeue_due(stale_after=timedelta(seconds=30), now=now + timedelta(seconds=61))


def test_a_permanent_error_is_dead_at_once_and_a_temporary_one_retried_with_backoff(canonical_source):
    # given a message whose line does not exist yet (temporary) and one dated year 9999 (bad data)
    missing = _receive(canonical_source, _document("p-1", order="SO-404"))
    bad = _receive(canonical_source, _document("p-2", occurred_at="9999-12-31T23:00:00-05:00"))
    now = timezone.now()

    inbound_batch_process(limit=10, now=now)

    missing.refresh_from_db()
    bad.refresh_from_db()
    assert (bad.state, bad.attempts, bad.error_kind) == (MessageState.DEAD, 1, ErrorKind.PERMANENT)
    assert (missing.state, missing.error_kind) == (MessageState.RETRYING, ErrorKind.TEMPORARY)
    assert now < missing.next_attempt_at <= now + timedelta(seconds=2)  # base 1 s, doubled, with jitter


def test_the_webhook_answers_202_when_the_broker_is_down(
    canonical_source, order_line, post_signed, caplog, django_capture_on_commit_callbacks
):
    # given a broker nobody listens on (a closed port), tasks really sent to it
    from config.celery import app

    app.conf.task_always_eager = False
    previous = (app.conf.broker_url, app._pool, app.amqp._producer_pool)
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    app._pool = app.amqp._producer_pool = None  # connections are made again, to that broker
    try:
        # when a message arrives and its enqueue runs after the commit
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed("crm-json", _document("r-1"))
    finally:
        app.conf.broker_url, app._pool, app.amqp._producer_pool = previous

    # then it is stored and acknowledged; the sweep will queue it
    assert response.status_code == 202
    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert message.state == MessageState.RECEIVED
    assert f"inbound message {message.pk} stored, not queued" in caplog.text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an in-memory SQLite test database cannot go away")
@pytest.mark.django_db(transaction=True)
def test_the_webhook_answers_503_in_json_when_the_database_is_down(canonical_source, post_signed):
    # given a database that refuses connections (nothing listens where it is said to be)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9"})
    try:
        # when a message arrives
        response = post_signed("crm-json", _document("d-1"))
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    # then the sender is told to come back later, in JSON, and nothing was acknowledged
    assert response.status_code == 503
    assert "database is unavailable" in response.json()["error"]
    assert response["Retry-After"] == "30"
    assert not InboundMessage.objects.exists()
