"""Outbox: changes written in the same transaction as the change, delivered at least once to
every handler registered for their topic, one delivery row per (change, handler)."""

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
    # Set once every handler has it (at once when no handler wants the topic).
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for its first or next attempt, or leased by a worker
    DELIVERED = "delivered", _("Delivered")  # the handler returned without an error
    DEAD = "dead", _("Dead")  # failed at every attempt allowed: a person looks, then redelivers


class OutboxDelivery(models.Model):
    """One handler's delivery of one outbox row: its attempts, last error and next attempt.

    A worker claims a due delivery by setting `leased_until` (and counting the attempt) in a
    short transaction, runs the handler outside any transaction, then records the result. A
    lease that runs out (the worker died) makes the delivery due again."""

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    handler = models.CharField(_("handler"), max_length=100)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # When it is due; a fresh delivery is due when it is written.
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox delivery")
        verbose_name_plural = _("outbox deliveries")
        permissions = [("redeliver_outboxdelivery", _("Can deliver an outbox delivery again"))]
        constraints = [models.UniqueConstraint(fields=["event", "handler"], name="outbox_delivery_once")]
        # Ordered by id (newest first in the admin), a filter that matches many rows stops early;
        # the two that match few have their own small indexes.
        indexes = [
            # The claim and /health/: pending deliveries by due time.
            models.Index(fields=["next_attempt_at"], condition=models.Q(state="pending"), name="outbox_delivery_due"),
            # /health/ and the admin: the dead ones, by handler.
            models.Index(fields=["handler"], condition=models.Q(state="dead"), name="outbox_delivery_dead"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} ← {self.event}"
