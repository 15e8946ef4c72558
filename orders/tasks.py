"""Celery tasks of the status core: outbox delivery, its periodic sweep, audit verification."""

from celery import shared_task

from orders.services.audit import audit_chain_watch
from orders.services.outbox import outbox_deliver, outbox_deliver_due, outbox_deliver_many, outbox_deliver_pending


@shared_task(acks_late=True)
def outbox_dispatch(event_id: int) -> None:
    """Deliver one outbox row. Idempotent against redelivery: only deliveries that are due and
    not leased by another worker are taken, so handlers that have the row are skipped."""
    outbox_deliver(event_id=event_id)


@shared_task(acks_late=True)
def outbox_dispatch_many(event_ids: list[int]) -> None:
    """Deliver rows written together by the bulk path; idempotent as outbox_dispatch."""
    outbox_deliver_many(event_ids=event_ids)


@shared_task(acks_late=True)
def outbox_dispatch_pending() -> int:
    """Deliver what is due (see outbox_wake); idempotent as outbox_dispatch: delivered rows and
    handlers are skipped, deliveries others hold are left to them."""
    return outbox_deliver_pending()


@shared_task
def outbox_sweep() -> int:
    """Deliver what a lost wake-up left, due retries, and deliveries whose worker died (their
    lease ran out). Returns how many deliveries it took."""
    return outbox_deliver_due()


# Reads every line's chain: longer than the default limits on a large database.
@shared_task(soft_time_limit=3600, time_limit=3900)
def audit_chain_verify_task() -> int:
    """Verify every line's audit chain, anchor the intact heads and alert on a break. Returns
    the number of problems. Idempotent: an unchanged head is not anchored again, and the same
    problems are alerted once a day."""
    return len(audit_chain_watch().problems)
