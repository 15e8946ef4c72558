"""Celery tasks of the integrations app: process the inbox, sweep what was left behind."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from integrations.services.inbox import inbound_requeue_due
from integrations.services.polling import source_poll, sources_due_for_poll
from integrations.services.processing import inbound_batch_process, inbound_message_process


@shared_task(acks_late=True)
def inbound_process(message_id: int) -> str | None:
    """Process one inbound message, and in the same transaction up to INBOUND_BATCH_SIZE others
    waiting behind it (their own tasks then find nothing to do). Idempotent against redelivery:
    only a message still waiting and not leased to another worker is taken (its attempt counted
    first), under a row lock, and marked processed in the same savepoint that applies its facts."""
    state = inbound_message_process(message_id=message_id)
    if settings.INBOUND_BATCH_SIZE > 1:
        inbound_batch_process(limit=settings.INBOUND_BATCH_SIZE - 1)
    return state


@shared_task
def inbound_sweep() -> int:
    """Re-queue messages whose task was lost, whose worker died holding them (lease expired), and
    retries that are due; each is marked re-queued. Idempotent: a message queued twice is taken
    once (its claim is a row lock and a lease)."""
    ids = inbound_requeue_due(stale_after=timedelta(seconds=settings.INBOUND_SWEEP_AFTER_SECONDS))
    for message_id in ids:
        inbound_process.delay(message_id)
    return len(ids)


@shared_task
def poll_due_sources() -> int:
    """Poll every polled source whose time has come (each keeps its own interval and backoff)."""
    return sum(source_poll(source_id=source_id) for source_id in sources_due_for_poll())
