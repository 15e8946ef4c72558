"""Discrepancies: sources that disagree with each other or with a held override."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.status import LineStatus
from overrides.texts import discrepancy_summary_text


class DiscrepancyRule(models.Model):
    """The warehouse (leading source) reports a status the ERP (ledger source) has not reached
    after a while: e.g. EWM says shipped while SAP still says released after 30 minutes."""

    name = models.CharField(_("name"), max_length=120)
    leading_source = models.CharField(_("leading source code"), max_length=40)
    ledger_source = models.CharField(_("ledger source code"), max_length=40)
    status = models.CharField(_("status"), max_length=20, choices=LineStatus.choices, default=LineStatus.SHIPPED)
    grace = models.DurationField(_("grace period"), default=timedelta(minutes=30))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("discrepancy rule")
        verbose_name_plural = _("discrepancy rules")

    def __str__(self) -> str:
        return self.name


class Discrepancy(models.Model):
    class Kind(models.TextChoices):
        SOURCES_DISAGREE = "sources", _("Sources disagree")  # a warehouse ahead of the ERP, say
        QUANTITY = "quantity", _("Quantities disagree")  # a confirmed quantity is not the ordered one
        OVERRIDE_CONTESTED = "contested", _("Source contradicts an override")  # a held override

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, related_name="discrepancies", verbose_name=_("line")
    )
    rule = models.ForeignKey(
        DiscrepancyRule, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("discrepancy rule")
    )
    summary = models.CharField(_("summary"), max_length=300)  # in English, for searches and exports
    # What the summary says, as a code with parameters (overrides.texts): shown in the reader's language.
    summary_code = models.CharField(_("summary code"), max_length=40, blank=True)
    summary_params = models.JSONField(_("summary parameters"), default=dict, blank=True)
    # The status events (and through them the inbound messages) that show the disagreement.
    evidence = models.ManyToManyField("orders.StatusEvent", related_name="+", verbose_name=_("evidence"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )
    level = models.PositiveSmallIntegerField(_("escalation level"), default=1)
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution = models.TextField(_("resolution"), blank=True)
    override = models.ForeignKey(
        "overrides.OverrideRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("override request"),
    )
    # Identity of what was found, so a scan opens one case per disagreement, not one per run.
    fingerprint = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("discrepancy")
        verbose_name_plural = _("discrepancies")
        indexes = [models.Index(fields=["resolved_at", "due_at"], name="discrepancy_open_due")]

    def __str__(self) -> str:
        return self.summary_text

    @property
    def summary_text(self) -> str:
        return discrepancy_summary_text(self.summary_code, self.summary_params, self.summary)
