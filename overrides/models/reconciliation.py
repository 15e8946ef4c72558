"""Reconciliation after an outage: what a source says against the current line statuses."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.status import LineStatus


class ReconciliationRun(models.Model):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")  # mismatches listed, nothing changed yet
        APPLIED = "applied", _("Applied")  # a supervisor applied the chosen corrections
        DISCARDED = "discarded", _("Discarded")  # looked at, nothing to do

    source_code = models.CharField(_("source"), max_length=40)
    since = models.DateTimeField(_("since"))
    until = models.DateTimeField(_("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    messages_read = models.PositiveIntegerField(_("messages read"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PROPOSED)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        permissions = [("apply_reconciliationrun", _("Can apply the corrections of a reconciliation"))]

    def __str__(self) -> str:
        return f"{self.source_code} {self.since:%Y-%m-%d %H:%M}–{self.until:%H:%M}"


class ReconciliationItem(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="items")
    line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="+")
    current_status = models.CharField(_("current status"), max_length=20, choices=LineStatus.choices)
    source_status = models.CharField(_("source says"), max_length=20, choices=LineStatus.choices)
    source_occurred_at = models.DateTimeField(_("source time"))
    message_ids = models.JSONField(_("inbound messages"), default=list)
    applied = models.BooleanField(_("applied"), default=False)

    class Meta:
        ordering = ["line_id"]
        verbose_name = _("reconciliation mismatch")
        verbose_name_plural = _("reconciliation mismatches")

    def __str__(self) -> str:
        return f"{self.line}: {self.current_status} ≠ {self.source_status}"
