"""Reconciliation after an outage: where a source's missing facts would move the lines."""

from django.conf import settings
from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from orders.models import EventOutcome
from orders.status import LineStatus
from overrides.texts import local_time_text


class ReconciliationRun(models.Model):
    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")  # mismatches listed, nothing changed yet
        APPLIED = "applied", _("Applied")  # a supervisor applied the chosen corrections
        DISCARDED = "discarded", _("Discarded")  # looked at, nothing to do

    source_code = models.CharField(_("source"), max_length=40)
    since = models.DateTimeField(_("since"))
    until = models.DateTimeField(_("until"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    messages_read = models.PositiveIntegerField(_("messages read"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PROPOSED)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("applied by"),
    )
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        permissions = [("apply_reconciliationrun", _("Can apply the corrections of a reconciliation"))]

    def __str__(self) -> str:
        return _("%(source)s, messages received %(since)s – %(until)s") % {
            "source": self.source_code,
            "since": local_time_text(self.since),
            "until": local_time_text(self.until),
        }


class ReconciliationItem(models.Model):
    run = models.ForeignKey(
        ReconciliationRun, on_delete=models.CASCADE, related_name="items", verbose_name=_("reconciliation")
    )
    line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="+", verbose_name=_("line"))
    current_status = models.CharField(_("current status"), max_length=20, choices=LineStatus.choices)
    # What the line's facts decide once the source's missing ones are added (orders.services.decide).
    proposed_status = models.CharField(_("proposed status"), max_length=20, choices=LineStatus.choices)
    proposed_occurred_at = models.DateTimeField(_("proposed status time"), null=True, blank=True)
    # The source's facts the line never recorded, as processing would record them (see
    # overrides.services.reconciliation.MissingFact), and the messages they came from.
    facts = models.JSONField(_("missing facts"), default=list)
    message_ids = models.JSONField(_("inbound messages"), default=list)
    applied = models.BooleanField(_("applied"), default=False)

    class Meta:
        ordering = ["line_id"]
        verbose_name = _("reconciliation mismatch")
        verbose_name_plural = _("reconciliation mismatches")

    def __str__(self) -> str:
        return f"{self.line}: {self.get_current_status_display()} → {self.get_proposed_status_display()}"

    @property
    def missing_facts_shown(self) -> list[dict]:
        """The missing facts as the report shows them: labels, times, messages, in source time."""
        shown = [
            {
                "status": LineStatus(fact["status"]).label,
                "occurred_at": parse_datetime(fact["occurred_at"]),
                "message_id": fact["message_id"],
                "outcome": EventOutcome(fact["outcome"]).label,
            }
            for fact in self.facts
        ]
        return sorted(shown, key=lambda fact: fact["occurred_at"])
