"""Celery tasks of notifications: thin, each idempotent."""

from celery import shared_task

from notifications.services.batches import notifications_sweep
from notifications.services.sending import notification_send


@shared_task(acks_late=True)
def notification_send_task(notification_id: int) -> str:
    """Send one notification. Idempotent against redelivery and duplicates: only a due one is
    claimed (with a lease, under a row lock), and one whose earlier attempt may have reached
    the provider is looked up there before it is sent again."""
    return notification_send(notification_id=notification_id)


@shared_task
def notifications_sweep_task() -> int:
    """Fold digests and maintenance summaries that are due and queue what is due or was left by
    a dead worker. Idempotent: folding locks its rows, and sending claims each notification."""
    return notifications_sweep()
