"""Models of notifications: rules, templates, recipients' preferences and blocks, maintenance
windows, and the notifications themselves with their delivery log."""

from notifications.models.deliveries import DeliveryLogEntry, Notification, NotificationStatus
from notifications.models.recipient_links import RecipientLink
from notifications.models.recipients import BlockedAddress, BlockReason, RecipientPreference
from notifications.models.rules import Channel, EventKind, NotificationRule, RuleChannel
from notifications.models.templates import MessageTemplate, TemplateChannel
from notifications.models.windows import MaintenanceWindow

__all__ = [
    "BlockReason",
    "BlockedAddress",
    "Channel",
    "DeliveryLogEntry",
    "EventKind",
    "MaintenanceWindow",
    "MessageTemplate",
    "Notification",
    "NotificationRule",
    "NotificationStatus",
    "RecipientLink",
    "RecipientPreference",
    "RuleChannel",
    "TemplateChannel",
]
