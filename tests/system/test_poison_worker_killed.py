"""A poison message that kills its worker every time: each attempt is counted before processing,
so after the attempt limit the message is dead (with the reason), and the healthy messages that
shared its batches are all applied, once."""

import json
import time

import psycopg
import pytest
from django.db import connection

from integrations.models import InboundMessage, MessageState
from orders.models import OrderLine, StatusEvent
from tests.system.conftest import START

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

MAX_ATTEMPTS = 3
LEASE_SECONDS = 4
HEALTHY = 60


def _blocked_backends() -> int:
    """Backends of the test database waiting for a row lock (the worker stuck on the poison)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _lock_order_elsewhere(order_id: int) -> psycopg.Connection:
    """Hold the poison's order row locked from another connection: whoever processes the poison
    blocks on it, holding its claim (as a worker stuck in a hung call would), until it is killed."""
    settings = connection.settings_dict
    holder = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    holder.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [order_id])
    return holder


def test_a_message_that_kills_its_worker_ends_dead_and_its_batch_mates_are_applied(stack, network, receive, settings):
    # given healthy messages about other orders, and among the first of them a poison message
    sources = network.sources("sys-json")
    lines = network.lines(HEALTHY // 2 + 2)
    poison_line, sibling = lines[0], lines[1]  # one order: the sibling is left alone
    traffic = network.traffic(lines[2:], messages=HEALTHY, seed=31, sources=("sys-json",))
    bodies = traffic.bodies()
    for _source, body in bodies[:3]:
        receive(sources["sys-json"], body.decode())
    poison_body = {
        "message_id": "poison-1",
        "statuses": [
            {
                "order": poison_line.order_number,
                "line": poison_line.number,
                "status": "allocated",
                "occurred_at": START.isoformat(),
            }
        ],
    }
    poison = receive(sources["sys-json"], json.dumps(poison_body))
    for _source, body in bodies[3:]:
        receive(sources["sys-json"], body.decode())
    order_id = OrderLine.objects.get(pk=poison_line.pk).order_id
    holder = _lock_order_elsewhere(order_id)
    settings.INBOUND_MAX_ATTEMPTS = MAX_ATTEMPTS
    worker_env = {
        "INBOUND_BATCH_SIZE": "10",
        "INBOUND_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "INBOUND_LEASE_SECONDS": str(LEASE_SECONDS),
    }

    try:
        # when every worker that takes the poison is SIGKILLed while it holds it, a new one starting each time
        for attempt in range(1, MAX_ATTEMPTS + 1):
            worker = stack.start_worker(concurrency=1, **worker_env)
            stack.wait_until(
                lambda attempt=attempt: (
                    InboundMessage.objects.filter(pk=poison.pk, attempts=attempt).exists() and _blocked_backends() > 0
                ),
                timeout=60,
                what=f"a worker to hold the poison message at attempt {attempt}",
            )
            worker.kill()
        # and one more worker comes, with the sweep queuing again what the killed ones held
        stack.start_worker(**worker_env)
        stack.wait_until(
            lambda: InboundMessage.objects.get(pk=poison.pk).state == MessageState.DEAD,
            timeout=60,
            what="the poison message to be dead",
        )
    finally:
        holder.close()

    # then the poison is dead after the attempt limit, saying why, with nothing of it applied
    poison.refresh_from_db()
    assert poison.attempts == MAX_ATTEMPTS
    assert poison.last_error.startswith(f"gave up after {MAX_ATTEMPTS} attempts: the worker stopped")
    assert not StatusEvent.objects.filter(inbound_message_id=poison.pk).exists()
    assert OrderLine.objects.get(pk=poison_line.pk).status == "received"
    assert OrderLine.objects.get(pk=sibling.pk).status == "received"

    # and every healthy message, its batch-mates in the killed batches included, is applied once
    healthy = InboundMessage.objects.exclude(pk=poison.pk)
    stack.wait_until(
        lambda: not healthy.exclude(state=MessageState.PROCESSED).exists(),
        timeout=90,
        what="every healthy message to be processed",
    )
    assert healthy.filter(attempts__gt=1).exists(), "no healthy message shared a killed batch"
    assert healthy.count() == HEALTHY
    time.sleep(0.5)
    traffic.assert_applied_exactly_once()
