"""Maintenance windows: while one runs, the notifications it covers are held; one catch-up
summary per recipient follows when it ends."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class MaintenanceWindow(models.Model):
    name = models.CharField(_("name"), max_length=120)
    # Blank or empty: any. What is set must all match.
    source_system = models.CharField(
        _("source system"), max_length=40, blank=True, help_text=_("Code of the source system; blank: any.")
    )
    region = models.ForeignKey(
        "orders.Region", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("region")
    )
    site = models.ForeignKey(
        "orders.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("site")
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    lets_critical_through = models.BooleanField(
        _("lets critical messages through"),
        default=False,
        help_text=_("Critical rules (A parts, P1 orders) still send at once during this window."),
    )
    summary_sent_at = models.DateTimeField(_("catch-up summaries sent at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="window_ends_after_start")
        ]
        indexes = [models.Index(fields=["ends_at", "summary_sent_at"], name="window_due")]

    def __str__(self) -> str:
        return self.name

    def covers(self, *, source_system: str, region_id: int | None, site_id: int | None) -> bool:
        if self.source_system and self.source_system != source_system:
            return False
        if self.region_id and self.region_id != region_id:
            return False
        return not (self.site_id and self.site_id != site_id)
