"""The inbox: every inbound message, raw, committed before it is acknowledged."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Transport(models.TextChoices):
    WEBHOOK = "webhook", _("HTTP webhook")  # the source pushes to us
    MQTT = "mqtt", _("MQTT")  # scanners publish to a broker we subscribe to
    POLL = "poll", _("Polling")  # we fetch from a REST source on a schedule
    FILE = "file", _("File upload")  # CSV sheets from paper-based depots
    FORM = "form", _("Back-office form")  # typed in by a person


class MessageState(models.TextChoices):
    RECEIVED = "received", _("Received")  # stored, waiting for a worker
    RETRYING = "retrying", _("Retrying")  # failed for a temporary reason; tried again later
    PROCESSED = "processed", _("Processed")  # every fact in it was recorded
    QUARANTINED = "quarantined", _("Quarantined")  # an unknown code: needs a mapping, then a replay
    DEAD = "dead", _("Dead letter")  # failed for good, or out of attempts; can be replayed


class InboundMessage(models.Model):
    source = models.ForeignKey(
        "integrations.SourceSystem", on_delete=models.PROTECT, related_name="messages", verbose_name=_("source")
    )
    # The source's own id when the format has one, otherwise a hash of the content.
    message_id = models.CharField(_("message id"), max_length=120)
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    raw = models.TextField(_("raw payload"))
    sequence = models.BigIntegerField(_("source sequence"), null=True, blank=True)
    provenance = models.CharField(_("provenance"), max_length=200, blank=True, help_text=_("e.g. paper sheet"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    state = models.CharField(_("state"), max_length=12, choices=MessageState.choices, default=MessageState.RECEIVED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    last_error = models.TextField(_("error"), blank=True)
    parsed = models.JSONField(_("parsed facts"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [models.UniqueConstraint(fields=["source", "message_id"], name="unique_message_per_source")]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="inbox_work_queue"),
            models.Index(fields=["source", "state", "received_at"], name="inbox_filter"),
        ]
        permissions = [
            # the dry run runs the whole pipeline and takes real row locks before it rolls back
            ("dry_run_inboundmessage", _("Can try a payload in the dry run")),
            ("upload_depot_sheet", _("Can upload a depot sheet")),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.message_id}"
