"""Reactions to the changes the core publishes: each creates notifications (exactly once per
event, recipient and channel, so a redelivered outbox row changes nothing) and leaves the
sending to a worker."""

from notifications.services.triggers import (
    DISCREPANCY_OPENED,
    LINE_ETA_CHANGED,
    STATUS_LINK_RENEWAL_REQUESTED,
    notification_for_link_renewal,
    notifications_for_trigger,
    trigger_from_outbox,
)
from orders.models import OutboxEvent
from orders.publication import Topic, register_handler

TOPICS = [
    Topic.LINE_STATUS_CHANGED,
    Topic.ALERT_OPENED,
    Topic.ALERT_ESCALATED,
    DISCREPANCY_OPENED,
    LINE_ETA_CHANGED,
]


def on_change(event: OutboxEvent) -> None:
    trigger = trigger_from_outbox(event)
    if trigger is not None:
        notifications_for_trigger(trigger)


def on_status_link_renewal(event: OutboxEvent) -> None:
    notification_for_link_renewal(event)


def register() -> None:
    register_handler(name="notifications.rules", topics=TOPICS, handler=on_change)
    register_handler(
        name="notifications.status_link_renewal", topics=[STATUS_LINK_RENEWAL_REQUESTED], handler=on_status_link_renewal
    )
