"""Stale-status rules, the alerts they open and the escalation ladder."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import Criticality
from orders.status import LineStatus
from overrides.roles import role_label
from overrides.texts import local_time_text


class StaleStatusRule(models.Model):
    """A line that stays in `status` longer than `threshold` needs someone's attention."""

    status = models.CharField(_("status"), max_length=20, choices=LineStatus.choices)
    criticality = models.CharField(
        _("part criticality"), max_length=1, choices=Criticality.choices, blank=True, help_text=_("Blank: any")
    )
    region = models.ForeignKey(
        "orders.Region",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("region"),
        help_text=_("Blank: every region"),
    )
    threshold = models.DurationField(_("threshold"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["status", "criticality"]
        verbose_name = _("stale-status rule")
        verbose_name_plural = _("stale-status rules")

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.criticality or '*'} > {self.threshold}"


class EscalationStep(models.Model):
    """One rung of the ladder: who must respond at this level, and how fast."""

    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    assignee_group = models.ForeignKey(Group, on_delete=models.PROTECT, verbose_name=_("assigned role"))
    response_time = models.DurationField(_("time to respond"))

    class Meta:
        ordering = ["level"]
        verbose_name = _("escalation step")
        verbose_name_plural = _("escalation steps")

    def __str__(self) -> str:
        return _("Level %(level)d: %(role)s within %(time)s") % {
            "level": self.level,
            "role": role_label(self.assignee_group.name),
            "time": self.response_time,
        }


class StaleAlert(models.Model):
    """Opened once per breach: per line, rule and the moment the line entered the status."""

    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.CASCADE, related_name="stale_alerts", verbose_name=_("line")
    )
    rule = models.ForeignKey(StaleStatusRule, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("rule"))
    status = models.CharField(_("status"), max_length=20, choices=LineStatus.choices)
    status_since = models.DateTimeField(_("in this status since"))
    opened_at = models.DateTimeField(_("opened at"))
    level = models.PositiveSmallIntegerField(_("escalation level"), default=1)
    assignee_group = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("assigned role")
    )
    due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("stale-status alert")
        verbose_name_plural = _("stale-status alerts")
        constraints = [models.UniqueConstraint(fields=["line", "rule", "status_since"], name="one_alert_per_breach")]
        indexes = [models.Index(fields=["resolved_at", "due_at"], name="alert_open_due")]

    def __str__(self) -> str:
        return _("%(line)s: %(status)s since %(since)s") % {
            "line": self.line,
            "status": self.get_status_display(),
            "since": local_time_text(self.status_since),
        }
