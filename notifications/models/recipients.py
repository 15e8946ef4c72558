"""Recipients: channel preferences and quiet hours per person, and addresses that must not be used."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from notifications.phones import phone_normalised
from orders.models.people import validate_time_zone


class RecipientPreference(models.Model):
    """What one person wants, found by their user account, else their email address or phone
    number (order contacts name people on many orders: the preference follows the person)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_preference",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True, help_text=_("E.164, e.g. +4915112345678"))
    sms_enabled = models.BooleanField(_("SMS"), default=True)
    email_enabled = models.BooleanField(_("email"), default=True)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone], help_text=_("Blank: the contact's.")
    )
    digest_hour = models.PositiveSmallIntegerField(
        _("digest hour"), default=8, help_text=_("Local hour (0-23) the daily digest goes out.")
    )
    # Set when the person proved the phone is theirs with a code (their own preference only):
    # test messages go only to a verified number.
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("recipient preference")
        verbose_name_plural = _("recipient preferences")
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=~Q(email=""), name="preference_email_once"),
            models.UniqueConstraint(fields=["phone"], condition=~Q(phone=""), name="preference_phone_once"),
            models.CheckConstraint(condition=Q(digest_hour__lte=23), name="preference_digest_hour_valid"),
        ]

    def __str__(self) -> str:
        return str(self.user or self.email or self.phone)

    def save(self, *args, **kwargs) -> None:
        self.email = self.email.strip().lower()
        self.phone = phone_normalised(self.phone)
        super().save(*args, **kwargs)


class BlockReason(models.TextChoices):
    OPT_OUT = "opt_out", _("Replied STOP")  # the recipient opted out
    INVALID = "invalid", _("Invalid number")  # the provider refused the number
    CARRIER = "carrier", _("Blocked by the carrier")  # filtered or blocked on the way
    UNREACHABLE = "unreachable", _("Unknown or landline number")  # cannot receive SMS


class BlockedAddress(models.Model):
    """A number (or address) not to be used until a person clears it."""

    channel = models.CharField(_("channel"), max_length=10, default="sms")
    address = models.CharField(_("address"), max_length=254)
    reason = models.CharField(_("reason"), max_length=20, choices=BlockReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    blocked_at = models.DateTimeField(_("blocked at"))
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by"),
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-blocked_at"]
        verbose_name = _("blocked address")
        verbose_name_plural = _("blocked addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "address"], condition=Q(cleared_at__isnull=True), name="blocked_address_once"
            )
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs) -> None:
        if self.channel == "sms":
            self.address = phone_normalised(self.address)
        super().save(*args, **kwargs)
