"""Access reviews: an auditor certifies or revokes each grant of a sensitive power."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from overrides.access_scopes import access_scopes_text
from overrides.texts import local_time_text


class AccessReview(models.Model):
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewer")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("access review")
        verbose_name_plural = _("access reviews")

    def __str__(self) -> str:
        return _("Access review of %(started)s (%(reviewer)s)") % {
            "started": local_time_text(self.created_at, "SHORT_DATE_FORMAT"),
            "reviewer": self.reviewer,
        }


class AccessReviewItem(models.Model):
    class Decision(models.TextChoices):
        PENDING = "pending", _("To review")  # not decided yet
        CERTIFIED = "certified", _("Certified")  # the grant stays
        REVOKED = "revoked", _("Revoked")  # the grant was removed

    review = models.ForeignKey(
        AccessReview, on_delete=models.CASCADE, related_name="items", verbose_name=_("access review")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    power = models.CharField(_("power"), max_length=60)  # a permission "app.codename"
    via = models.CharField(_("granted through"), max_length=120)  # "direct", "group planner", ...
    # Where the power acts: coded entries (overrides.access_scopes), written out when read.
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    # Reviews started before the scopes were coded stored them as text: shown as they are.
    scope = models.CharField(_("scope (before codes)"), max_length=200, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["user_id", "power"]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")

    def __str__(self) -> str:
        from overrides.services.access import access_power_label, access_via_label

        return f"{self.user}: {access_power_label(self.power)} ({access_via_label(self.via)})"

    @property
    def scope_text(self) -> str:
        """The scopes in the reader's language."""
        return access_scopes_text(self.scopes) if self.scopes else self.scope
