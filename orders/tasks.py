"""Celery tasks of the status core: outbox delivery and its periodic sweep."""

from celery import shared_task

from orders.services.outbox import outbox_deliver, outbox_deliver_many, outbox_deliver_pending, outbox_pending_ids


@shared_task(acks_late=True)
def outbox_dispatch(event_id: int) -> None:
    """Deliver one outbox row. Idempotent against redelivery: handlers that already have the
    row (recorded on it) are skipped, and a delivered row is left alone."""
    outbox_deliver(event_id=event_id)


@shared_task(acks_late=True)
def outbox_dispatch_many(event_ids: list[int]) -> None:
    """Deliver rows written together by the bulk path; idempotent as outbox_dispatch."""
    outbox_deliver_many(event_ids=event_ids)


@shared_task(acks_late=True)
def outbox_dispatch_pending() -> int:
    """Deliver the rows waiting for their first delivery (see outbox_wake); idempotent as
    outbox_dispatch: delivered rows and handlers are skipped, rows others hold are left to them."""
    return outbox_deliver_pending()


@shared_task
def outbox_sweep() -> int:
    """Deliver rows whose after-commit task was lost or whose retry is due. Returns how many."""
    ids = outbox_pending_ids()
    outbox_deliver_many(event_ids=ids)
    return len(ids)
