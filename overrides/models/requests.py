"""Manual overrides: a person asks, policy decides whether a second person must approve."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.status import LineStatus
from overrides.texts import approval_reason_text


class OverrideReason(models.Model):
    """The managed list of reasons a person may give (history and translations registered in
    translation.py)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=120)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("override reason")
        verbose_name_plural = _("override reasons")

    def __str__(self) -> str:
        return self.label


class OverrideRequest(models.Model):
    class Kind(models.TextChoices):
        STATUS = "status", _("Set a status")  # move one or more lines to a status
        SUPPRESS_EVENT = "suppress", _("Hide an event from customers")  # suppress one status event

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")  # four-eyes: a second person must decide
        APPLIED = "applied", _("Applied")  # the change is made
        REJECTED = "rejected", _("Rejected")  # the approver said no
        WITHDRAWN = "withdrawn", _("Withdrawn")  # the requester took it back

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STATUS)
    lines = models.ManyToManyField("orders.OrderLine", related_name="override_requests", verbose_name=_("lines"))
    target_status = models.CharField(_("target status"), max_length=20, choices=LineStatus.choices, blank=True)
    event = models.ForeignKey(
        "orders.StatusEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("event to hide"),
    )
    reason = models.ForeignKey(OverrideReason, on_delete=models.PROTECT, verbose_name=_("reason"))
    justification = models.TextField(_("justification"))
    evidence = models.FileField(_("evidence"), upload_to="overrides/evidence/%Y/%m/", blank=True)
    evidence_reference = models.CharField(
        _("evidence reference"), max_length=200, blank=True, help_text=_("e.g. a proof-of-delivery number")
    )
    hold_until_source_confirms = models.BooleanField(_("hold until a source confirms"), default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    # Why policy asks for a second person (empty: none needed): codes with parameters
    # (overrides.texts), shown in the reader's language.
    approval_reasons = models.JSONField(_("why approval is needed"), default=list, blank=True)
    # Each line's status when the request was made ({line id: status}): "from → to" at approval.
    from_statuses = models.JSONField(_("statuses when requested"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("override request")
        verbose_name_plural = _("override requests")
        permissions = [("approve_overriderequest", _("Can approve or reject another person's override"))]

    def __str__(self) -> str:
        if self.kind == self.Kind.STATUS and self.target_status:
            return f"#{self.pk} " + _("Set to %(status)s") % {"status": self.get_target_status_display()}
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def needs_approval(self) -> bool:
        return bool(self.approval_reasons)

    @property
    def approval_reason_texts(self) -> list[str]:
        return [approval_reason_text(reason) for reason in self.approval_reasons]

    def from_status_of(self, line_id: int) -> str:
        return self.from_statuses.get(str(line_id), "")
