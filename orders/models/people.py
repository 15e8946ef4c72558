"""What a person prefers to see: language and time zone, for every surface (back office, portal,
technician pages, messages). Blank means "as the browser says"."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a time zone name such as Europe/Berlin."), params={"zone": value})


class UserProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("user")
    )
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=settings.LANGUAGES, help_text=_("Blank: the browser's.")
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone], help_text=_("Blank: the browser's.")
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)
