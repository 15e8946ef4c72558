"""Rules as data: which event reaches whom, by which channel, how urgently."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from orders.models import ContactRole, Criticality, Priority
from orders.status import LineStatus


class EventKind(models.TextChoices):
    STATUS_REACHED = "status_reached", _("Status reached")  # a line reached one of the rule's statuses
    ETA_SLIPPED = "eta_slipped", _("ETA slipped")  # a line's ETA moved later by more than the tolerance
    EXCEPTION = "exception", _("Exception")  # a line went into exception
    ALERT_OPENED = "alert_opened", _("Stale alert opened")  # a line sat too long in a status
    ALERT_ESCALATED = "alert_escalated", _("Stale alert escalated")  # nobody acted: one rung up
    DISCREPANCY_OPENED = "discrepancy_opened", _("Discrepancy opened")  # sources disagree
    OVERRIDE_APPLIED = "override_applied", _("Override applied")  # a person set a line's status
    DELIVERY_VERIFIED = "delivery_verified", _("Delivery verified")  # the technician confirmed on site
    # Not chosen by rules: sent when someone asks, collected, or summed up.
    LINK_RENEWAL = "link_renewal", _("Fresh status link")
    DIGEST = "digest", _("Daily digest")
    MAINTENANCE_SUMMARY = "maintenance_summary", _("Catch-up after maintenance")
    TEST = "test", _("Test message")


RULE_EVENT_KINDS = [
    EventKind.STATUS_REACHED,
    EventKind.ETA_SLIPPED,
    EventKind.EXCEPTION,
    EventKind.ALERT_OPENED,
    EventKind.ALERT_ESCALATED,
    EventKind.DISCREPANCY_OPENED,
    EventKind.OVERRIDE_APPLIED,
    EventKind.DELIVERY_VERIFIED,
]


class RuleChannel(models.TextChoices):
    SMS = "sms", _("SMS at once")
    EMAIL = "email", _("Email at once")
    DIGEST = "digest", _("Daily digest email")


class Channel(models.TextChoices):
    """How one notification travels."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")
    DIGEST = "digest", _("Digest item")  # waits for the recipient's daily email


class NotificationRule(models.Model):
    name = models.CharField(_("name"), max_length=120)
    event_kind = models.CharField(_("event"), max_length=30, choices=[(k.value, k.label) for k in RULE_EVENT_KINDS])
    # Empty lists mean "any".
    statuses = models.JSONField(
        _("statuses"), default=list, blank=True, help_text=_("For “status reached”: the statuses that count.")
    )
    criticalities = models.JSONField(_("part criticalities"), default=list, blank=True)
    priorities = models.JSONField(_("order priorities"), default=list, blank=True)
    roles = models.JSONField(_("recipients"), default=list, help_text=_("Which contacts of the order hear of it."))
    channel = models.CharField(_("channel"), max_length=10, choices=RuleChannel.choices)
    critical = models.BooleanField(
        _("critical"),
        default=False,
        help_text=_(
            "Skips digests, throttling and quiet hours; a maintenance window holds it unless it lets "
            "critical messages through."
        ),
    )
    fallback_to_email = models.BooleanField(
        _("fall back to email"), default=True, help_text=_("When the SMS cannot reach the number, email instead.")
    )
    throttle = models.DurationField(
        _("throttle window"),
        null=True,
        blank=True,
        help_text=_("Updates of one order within this window become one message with the latest state."),
    )
    eta_tolerance = models.DurationField(
        _("ETA tolerance"), null=True, blank=True, help_text=_("For “ETA slipped”: how much later counts as a slip.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["event_kind", "name"]
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")
        indexes = [models.Index(fields=["event_kind", "is_active"], name="notification_rule_event")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        checks = (
            ("statuses", LineStatus.values),
            ("criticalities", Criticality.values),
            ("priorities", Priority.values),
            ("roles", ContactRole.values),
        )
        for name, allowed in checks:
            values = getattr(self, name)
            if not isinstance(values, list) or any(value not in allowed for value in values):
                errors[name] = _("Choose from: %(allowed)s.") % {"allowed": ", ".join(allowed)}
        if not self.roles:
            errors["roles"] = _("Choose at least one recipient.")
        if self.event_kind == EventKind.STATUS_REACHED and not self.statuses:
            errors["statuses"] = _("Choose the statuses this rule is about.")
        if errors:
            raise ValidationError(errors)

    def matches(self, *, criticality: str, priority: str, status: str) -> bool:
        """Whether the rule is about an event on a line of this part criticality, order priority
        and (for “status reached”) status."""
        if self.criticalities and criticality not in self.criticalities:
            return False
        if self.priorities and priority not in self.priorities:
            return False
        return not (self.event_kind == EventKind.STATUS_REACHED and status not in self.statuses)
