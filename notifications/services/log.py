"""Delivery log rows and the hand-over to a worker."""

from django.db import transaction
from django.utils import timezone

from notifications.models import DeliveryLogEntry, Notification


def log_add(
    notification: Notification, status: str, *, detail: str = "", provider_id: str = "", error_code: str = "", at=None
) -> DeliveryLogEntry:
    return DeliveryLogEntry.objects.create(
        notification=notification,
        at=at or timezone.now(),
        status=status,
        detail=detail[:500],
        provider_id=provider_id,
        error_code=error_code,
    )


def send_after_commit(notification_ids: list[int]) -> None:
    """Once the caller commits, have a worker send these (a lost task is picked up by the sweep)."""
    if not notification_ids:
        return

    def enqueue() -> None:
        from notifications.tasks import notification_send_task

        for notification_id in notification_ids:
            notification_send_task.delay(notification_id)

    transaction.on_commit(enqueue, robust=True)
