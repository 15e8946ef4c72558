"""The inbox: every inbound message, raw, committed before it is acknowledged."""

import uuid

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


class ErrorKind(models.TextChoices):
    PERMANENT = "permanent", _("Permanent")  # bad data: retrying cannot help, a person must act
    TEMPORARY = "temporary", _("Temporary")  # a lock, a lost connection, a line not there yet


class InboundMessage(models.Model):
    source = models.ForeignKey(
        "integrations.SourceSystem", on_delete=models.PROTECT, related_name="messages", verbose_name=_("source")
    )
    # The source's own id when the format has one, otherwise a hash of the content.
    message_id = models.CharField(_("message id"), max_length=120)
    # What the webhook answers the sender as its receipt (and again for a duplicate): opaque, so
    # it tells nothing of our volumes; the integer id stays inside the back office.
    receipt = models.UUIDField(_("receipt"), default=uuid.uuid4, unique=True, editable=False)
    # A message is the same message only when its id and its content agree: the same id with
    # another body is a new revision (a correction, or the complete copy of a truncated one).
    content_hash = models.CharField(_("content hash"), max_length=64, help_text=_("SHA-256 of the body as received"))
    revision = models.PositiveIntegerField(_("revision"), default=1)
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    raw = models.TextField(_("raw payload"))
    # The body exactly as received, kept only when `raw` could not hold it faithfully (not UTF-8,
    # NUL characters): `raw` is then a storable rendering of it.
    raw_bytes = models.BinaryField(_("raw bytes"), null=True, blank=True)
    is_test = models.BooleanField(_("test message"), default=False, help_text=_("the sender marked it as test data"))
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
    error_kind = models.CharField(_("kind of error"), max_length=10, choices=ErrorKind.choices, blank=True)
    # Set when a worker claims the message (its attempt counted and committed first), cleared when
    # the attempt records its outcome: a lease that expired means the worker died holding it.
    lease_expires_at = models.DateTimeField(_("claimed until"), null=True, blank=True)
    requeued_at = models.DateTimeField(_("re-queued by the sweep at"), null=True, blank=True)
    requeue_count = models.PositiveIntegerField(_("times re-queued by the sweep"), default=0)
    parsed = models.JSONField(_("parsed facts"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        constraints = [
            models.UniqueConstraint(fields=["source", "message_id", "content_hash"], name="unique_message_content"),
            models.UniqueConstraint(fields=["source", "message_id", "revision"], name="unique_message_revision"),
        ]
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
        suffix = f" (revision {self.revision})" if self.revision > 1 else ""
        return f"{self.source_id}:{self.message_id}{suffix}"
