"""Outbox: changes written in the same transaction as the change, delivered at least once."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEvent(models.Model):
    topic = models.CharField(_("topic"), max_length=60, db_index=True)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    payload = models.JSONField(_("payload"))
    # The order's own sequence of changes (Order.outbox_sequence), also in the payload.
    order_sequence = models.PositiveBigIntegerField(_("order sequence"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Names of the handlers that have processed the row; a retry skips them.
    delivered_to = models.JSONField(_("delivered to"), default=list, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(dispatched_at__isnull=True),
                name="outbox_pending",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
