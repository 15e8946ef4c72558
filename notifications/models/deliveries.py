"""Notifications (one per event, recipient and channel) and their delivery log."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from notifications.models.rules import Channel, EventKind


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")  # due at due_at (now, after quiet hours, a throttle, a digest hour)
    HELD = "held", _("Held by a maintenance window")  # folded into the catch-up summary when it ends
    CLAIMED = "claimed", _("Being sent")  # a worker holds it (lease); the provider may have it
    QUEUED = "queued", _("Accepted by the provider")  # Twilio queued it
    SENDING = "sending", _("Sending")  # the provider is handing it to the carrier
    SENT = "sent", _("Sent")  # to the carrier (SMS), or accepted by the mail server (email: the end)
    # Email only: a worker died after handing it to the mail server, before recording the answer.
    # Never sent again (at most once); the log says so.
    UNCONFIRMED = "unconfirmed", _("Sent, unconfirmed")
    DELIVERED = "delivered", _("Delivered")  # the handset has it
    UNDELIVERED = "undelivered", _("Undelivered")  # the carrier could not deliver it
    FAILED = "failed", _("Failed")  # never left, or gave up after retries
    FOLDED = "folded", _("Folded into another message")  # a digest, a throttled burst, a catch-up summary
    SKIPPED = "skipped", _("Not sent")  # no usable address: blocked, opted out, missing


# Provider statuses only move forward; the final ones never change again.
RANK = {
    NotificationStatus.PENDING: 0,
    NotificationStatus.HELD: 0,
    NotificationStatus.CLAIMED: 1,
    NotificationStatus.QUEUED: 2,
    NotificationStatus.SENDING: 3,
    NotificationStatus.SENT: 4,
    NotificationStatus.UNCONFIRMED: 4,
    NotificationStatus.DELIVERED: 5,
    NotificationStatus.UNDELIVERED: 5,
    NotificationStatus.FAILED: 5,
}
FINAL = frozenset(
    {
        NotificationStatus.DELIVERED,
        NotificationStatus.UNDELIVERED,
        NotificationStatus.FAILED,
        NotificationStatus.FOLDED,
        NotificationStatus.SKIPPED,
        NotificationStatus.UNCONFIRMED,
    }
)


class Notification(models.Model):
    # The event's identity ("outbox:123", "digest:<address>:<day>", ...): with address and channel
    # it is unique, so concurrent triggers and redelivered handlers create one row.
    event_key = models.CharField(_("event"), max_length=160)
    kind = models.CharField(_("kind"), max_length=30, choices=EventKind.choices)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("order"),
    )
    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("line")
    )
    rule = models.ForeignKey(
        "notifications.NotificationRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rule"),
    )
    contact = models.ForeignKey(
        "orders.OrderContact",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    role = models.CharField(_("recipient role"), max_length=20, blank=True)
    recipient_name = models.CharField(_("recipient"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=254)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    locale = models.CharField(_("locale"), max_length=16, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    critical = models.BooleanField(_("critical"), default=False)
    status = models.CharField(
        _("status"), max_length=12, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    due_at = models.DateTimeField(_("due at"))
    # Recipient, channel and order of a throttled message: at most one waits per key.
    throttle_key = models.CharField(_("throttle key"), max_length=300, blank=True)
    held_by = models.ForeignKey(
        "notifications.MaintenanceWindow",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="held",
        verbose_name=_("held by"),
    )
    folded_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="folded", verbose_name=_("folded into")
    )
    # The email to use when the SMS cannot reach the number and the rule allows it.
    fallback_address = models.CharField(_("fallback email"), max_length=254, blank=True)
    fallback_for = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("fallback for")
    )
    # What the event said (statuses, ETAs, alert level): the message shows the state at sending.
    facts = models.JSONField(_("event facts"), default=dict, blank=True)
    # Rendered once, when first claimed: a retry sends the same words.
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML"), blank=True)
    template = models.ForeignKey(
        "notifications.MessageTemplate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("template"),
    )
    template_version = models.CharField(_("template version"), max_length=60, blank=True)
    provider_id = models.CharField(_("provider id"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    # Set when a worker may have handed the message to the provider: a worker that takes over an
    # expired lease first asks the provider whether it has it, instead of sending again.
    send_started_at = models.DateTimeField(_("handed to the provider at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    final_at = models.DateTimeField(_("final status at"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "address", "channel"], name="notification_once_per_event_recipient_channel"
            ),
            models.UniqueConstraint(
                fields=["throttle_key"],
                condition=Q(status="pending") & ~Q(throttle_key=""),
                name="notification_one_waiting_per_throttle_key",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="notification_due"),
            models.Index(fields=["order", "-created_at"], name="notification_order_log"),
            models.Index(fields=["provider_id"], name="notification_provider_id"),
            models.Index(fields=["address", "channel", "status"], name="notification_recipient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.address} ({self.get_channel_display()})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL or (self.channel != Channel.SMS and self.status == NotificationStatus.SENT)


class DeliveryLogEntry(models.Model):
    """One step of a notification's life: created, held, sent (provider id), each provider
    status callback, a retry, a block, a fallback."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="log", verbose_name=_("notification")
    )
    at = models.DateTimeField(_("at"))
    status = models.CharField(_("status"), max_length=20)
    provider_id = models.CharField(_("provider id"), max_length=64, blank=True)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    # Twilio's I-Twilio-Idempotency-Token of a callback: the same callback twice is recorded once.
    callback_token = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("delivery log entry")
        verbose_name_plural = _("delivery log entries")

    def __str__(self) -> str:
        return f"{self.status_label} · {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def status_label(self) -> str:
        """The step in words, in the active language (the code stays in `status`)."""
        from notifications.log_labels import log_status_label

        return log_status_label(self.status, callback=self.callback_token is not None)

    @property
    def error_label(self) -> str:
        from notifications.log_labels import error_code_label

        return error_code_label(self.error_code)
