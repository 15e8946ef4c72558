"""The append-only status event log: one row per status fact received, applied or not."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.status import LineStatus


class ActorKind(models.TextChoices):
    SYSTEM = "system", _("System")  # the product itself (rollup, split, schedule)
    INTEGRATION = "integration", _("Integration")  # a source system's message
    USER = "user", _("User")  # a person in the back office or a technician


class EventOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")  # moved the line to the new status
    UNCHANGED = "unchanged", _("Confirmed unchanged")  # repeated the current status
    STALE = "stale", _("Recorded as late")  # older than the current status: kept for analytics
    REJECTED = "rejected", _("Rejected")  # not a legal move from the current status
    CONTESTED = "contested", _("Contradicts a held override")  # a discrepancy is opened
    REMEMBERED = "remembered", _("Progress kept during a hold")  # held line resumes from here


class EventKind(models.TextChoices):
    START = "start", _("Line started")  # first event of a line (created, or split from its parent)
    FACT = "fact", _("Source fact")  # a source system or technician said so
    OVERRIDE = "override", _("Override")  # a person set the status
    HELD_OVERRIDE = "held_override", _("Override held until a source confirms")  # ... and holds it
    SPLIT = "split", _("Split")  # the line was split into child lines
    ROLLUP = "rollup", _("Rollup")  # a split parent took its children's status
    RESEQUENCED = "resequenced", _("Resequenced")  # a late fact re-ordered the line's facts
    READY = "ready", _("Quantity ready")  # ship complete: part of the line confirmed, the line waits


class AppendOnlyError(Exception):
    """A row of an append-only table (status events, suppressions, audit anchors) was about to
    be changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses the set-based writes that skip save() and delete(). On PostgreSQL triggers also
    refuse UPDATE and DELETE in the database (migration orders/0005_audit_anchor)."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only.")

    def delete(self):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model._meta.verbose_name_plural} are append-only.")

    delete.queryset_only = True  # as Django's own: no Model.objects.delete()


class AppendOnlyModel(models.Model):
    """Rows are written once: saving a stored row or deleting one raises AppendOnlyError."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name_plural} are append-only.")


class StatusEvent(AppendOnlyModel):
    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="events", verbose_name=_("line")
    )
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="events", verbose_name=_("order"))
    sequence = models.PositiveIntegerField(_("sequence"))
    from_status = models.CharField(_("from"), max_length=20, choices=LineStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=LineStatus.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=EventOutcome.choices)
    # Blank on rows written before kinds were recorded: orders.services.decide derives it.
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), help_text=_("Source clock"))
    received_at = models.DateTimeField(_("received at"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    actor_kind = models.CharField(_("actor kind"), max_length=12, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    actor_label = models.CharField(_("actor"), max_length=120, blank=True)
    # The second person of a four-eyes override.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    source_system = models.CharField(_("source system"), max_length=40, blank=True, db_index=True)
    # The InboundMessage the fact came from; integrations owns that table, orders keeps the id.
    inbound_message_id = models.BigIntegerField(_("inbound message"), null=True, blank=True, db_index=True)
    # The source's own sequence number for the fact, where it gives one: breaks ties of equal time.
    source_sequence = models.BigIntegerField(_("source sequence"), null=True, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_text = models.TextField(_("reason"), blank=True)
    fact_key = models.CharField(_("fact key"), max_length=64)
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True)
    # The key whose HMAC `hash` is (settings.AUDIT_CHAIN_KEYS); blank on rows written before
    # the chain was keyed, which carry a plain SHA-256.
    key_id = models.CharField(_("key id"), max_length=40, blank=True)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["line_id", "sequence"]
        verbose_name = _("status event")
        verbose_name_plural = _("status events")
        constraints = [
            models.UniqueConstraint(fields=["line", "sequence"], name="unique_event_sequence_per_line"),
            models.UniqueConstraint(fields=["line", "fact_key"], name="unique_fact_per_line"),
        ]
        indexes = [models.Index(fields=["order", "occurred_at"], name="event_order_timeline")]
        permissions = [("suppress_statusevent", _("Can hide a status event from customers"))]

    def __str__(self) -> str:
        return f"{self.line_id}#{self.sequence} {self.from_status or '-'} -> {self.to_status} ({self.outcome})"


class EventSuppression(AppendOnlyModel):
    """A status event hidden from customers (never deleted: the log stays whole)."""

    event = models.OneToOneField(
        StatusEvent, on_delete=models.PROTECT, related_name="suppression", verbose_name=_("event")
    )
    suppressed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("suppressed by")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    reason_code = models.CharField(_("reason code"), max_length=40)
    reason_text = models.TextField(_("justification"))
    created_at = models.DateTimeField(_("suppressed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed status event")
        verbose_name_plural = _("suppressed status events")

    def __str__(self) -> str:
        return f"{self.event} (suppressed)"


class AuditAnchor(AppendOnlyModel):
    """A line's chain head as the verifier found it intact, signed with the audit chain key.

    Written only by orders.services.audit after a clean verification, outside the event tables:
    events truncated and the line's head reset, or a chain rewritten, no longer reach it.
    """

    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="audit_anchors", verbose_name=_("line")
    )
    sequence = models.PositiveIntegerField(_("events anchored"))
    head = models.CharField(_("chain head"), max_length=64)
    anchored_at = models.DateTimeField(_("anchored at"))
    key_id = models.CharField(_("key id"), max_length=40)
    signature = models.CharField(_("signature"), max_length=64)

    class Meta:
        ordering = ["line_id", "sequence"]
        verbose_name = _("audit anchor")
        verbose_name_plural = _("audit anchors")
        constraints = [models.UniqueConstraint(fields=["line", "sequence"], name="unique_anchor_per_line_sequence")]

    def __str__(self) -> str:
        return f"{self.line_id}#{self.sequence} {self.head[:12]}"
