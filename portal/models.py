"""The portal's own records: branding per OEM or dealer, status links and their opens, fresh-link
requests, and technicians' delivery confirmations."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("A colour is written #RRGGBB."))


class PortalProfile(models.Model):
    """How the portal looks and behaves for an account (a customer or a dealer); the row without
    an account is the OEM's own default. A customer's page uses its own row, else its dealer's,
    else the default."""

    account = models.OneToOneField(
        "orders.Account",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="portal_profile",
        verbose_name=_("account"),
        help_text=_("Blank: the OEM's default for every account without its own."),
    )
    brand_name = models.CharField(_("brand name"), max_length=80)
    logo_url = models.CharField(_("logo URL"), max_length=300, blank=True, help_text=_("A path or an https URL."))
    colour_primary = models.CharField(_("primary colour"), max_length=7, default="#0b4f8a", validators=[COLOUR])
    colour_accent = models.CharField(_("accent colour"), max_length=7, default="#f2a900", validators=[COLOUR])
    support_email = models.EmailField(_("support email"), blank=True)
    support_phone = models.CharField(_("support phone"), max_length=30, blank=True)
    support_hours = models.CharField(_("support hours"), max_length=120, blank=True)
    status_link_days = models.PositiveIntegerField(
        _("status links valid for (days)"), default=14, help_text=_("How long a new status link stays valid.")
    )
    # Part of a cached page's key (portal.page_cache): a brand edited shows on the next read.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("portal profile")
        verbose_name_plural = _("portal profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(account__isnull=True), name="one_default_portal_profile"
            )
        ]

    def __str__(self) -> str:
        return self.brand_name

    def clean(self) -> None:
        super().clean()
        if self.logo_url and not logo_url_is_safe(self.logo_url):
            raise ValidationError({"logo_url": _("Enter a path on this site (/…) or an https:// URL.")})
        if self.status_link_days is not None and self.status_link_days > settings.STATUS_LINK_MAX_DAYS:
            raise ValidationError({"status_link_days": link_lifetime_limit()})


def link_lifetime_limit() -> str:
    return _("A status link may stay valid at most %(days)d days after it was issued.") % {
        "days": settings.STATUS_LINK_MAX_DAYS
    }


def link_expiry_check(*, issued_at, expires_at) -> None:
    """A link expires after it was issued, and at most STATUS_LINK_MAX_DAYS later (whoever sets
    the date: an account's default, staff in the admin)."""
    if expires_at <= issued_at:
        raise ValidationError({"expires_at": _("A link must expire after it was issued.")})
    if expires_at > issued_at + timedelta(days=settings.STATUS_LINK_MAX_DAYS):
        raise ValidationError({"expires_at": link_lifetime_limit()})


def logo_url_is_safe(url: str) -> bool:
    """A path on this site or an https URL: never javascript:, data: or another scheme."""
    url = url.strip()
    if url.startswith("/"):
        return not url.startswith("//") and not url.startswith("/\\")
    parsed = urlsplit(url)
    return parsed.scheme.lower() == "https" and bool(parsed.netloc)


class LinkAudience(models.TextChoices):
    CUSTOMER = "customer", _("Customer")  # what a customer sees
    TECHNICIAN = "technician", _("Field technician")  # plus site, carrier and contacts


class LinkPurpose(models.TextChoices):
    VIEW = "view", _("View")  # read the order (or line) only
    VIEW_CONFIRM = "view_confirm", _("View and confirm delivery")  # a technician may confirm on site


# The same, as the portal says them to a customer (the labels above are the back office's).
LINK_FOR_WHOM = {
    LinkAudience.CUSTOMER: _("Anyone you send it to"),
    LinkAudience.TECHNICIAN: _("A field technician"),
}
LINK_ALLOWS = {
    LinkPurpose.VIEW: _("See the order's progress"),
    LinkPurpose.VIEW_CONFIRM: _("See the progress and confirm delivery on site"),
}


class LinkState(models.TextChoices):
    """What a link does now: derived from its expiry and revocation, never stored."""

    ACTIVE = "active", _("Active")  # opens the order (or line)
    EXPIRED = "expired", _("Expired")  # its time is over: answers 410, offering a fresh link
    REVOKED = "revoked", _("Revoked")  # stopped by a person (or by our messages sending a newer one): answers 410
    REPLACED = "replaced", _("Replaced")  # a new link took its place ("Replace link"): answers 410


class StatusLink(models.Model):
    """A link that shows one order or one line without signing in. Only the token's SHA-256 is
    stored; the token itself exists in the link sent and nowhere else."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="status_links", verbose_name=_("order")
    )
    line = models.ForeignKey(
        "orders.OrderLine",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="status_links",
        verbose_name=_("line"),
        help_text=_("Blank: the whole order."),
    )
    audience = models.CharField(_("audience"), max_length=12, choices=LinkAudience.choices)
    purpose = models.CharField(_("purpose"), max_length=14, choices=LinkPurpose.choices, default=LinkPurpose.VIEW)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces", verbose_name=_("rotated to")
    )
    # The latest change of the expiry after issue (staff, in the admin): when, by whom, from what.
    expiry_changed_at = models.DateTimeField(_("expiry changed at"), null=True, blank=True)
    expiry_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("expiry changed by"),
    )
    expires_at_before_change = models.DateTimeField(_("expiry before the change"), null=True, blank=True)
    # A link our messages sent (notifications.recipient_links): to what address on each channel,
    # masked (the order page shows it to everyone who follows the account). Blank: not sent so.
    sent_by_email_to = models.CharField(_("sent by email to"), max_length=254, blank=True, editable=False)
    sent_by_sms_to = models.CharField(_("sent by SMS to"), max_length=32, blank=True, editable=False)
    # Our SMS that carried it to sent_by_sms_to came back undelivered (or failed), and no other
    # SMS of ours carries it there: the phone does not have it. Cleared when an SMS with it is
    # taken again.
    sms_undelivered = models.BooleanField(_("SMS not delivered"), default=False, editable=False)
    last_opened_at = models.DateTimeField(_("last opened at"), null=True, blank=True)
    # The recipient's language (a link sent in a message): its pages speak it unless the visitor
    # chose another. Blank: the browser's.
    language = models.CharField(
        _("language"), max_length=8, blank=True, choices=settings.LANGUAGES, help_text=_("Blank: the browser's.")
    )

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("status link")
        verbose_name_plural = _("status links")
        indexes = [models.Index(fields=["order", "-issued_at"], name="status_link_order")]

    def __str__(self) -> str:
        return f"{self.get_audience_display()} {self.public_id}"

    def clean(self) -> None:
        super().clean()
        if self.expires_at and self.issued_at:
            link_expiry_check(issued_at=self.issued_at, expires_at=self.expires_at)

    def sent_by_our_messages(self) -> bool:
        return bool(self.sent_by_email_to or self.sent_by_sms_to)

    def revived_by_expiry_change(self) -> bool:
        """The latest expiry change gave a link that had expired a new life."""
        changed, before = self.expiry_changed_at, self.expires_at_before_change
        return changed is not None and before is not None and before <= changed

    def is_usable(self, now=None) -> bool:
        return self.state(now) == LinkState.ACTIVE

    def state(self, now=None) -> LinkState:
        if self.replaced_by_id is not None:
            return LinkState.REPLACED
        if self.revoked_at is not None:
            return LinkState.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return LinkState.EXPIRED
        return LinkState.ACTIVE


class StatusLinkOpen(models.Model):
    """One opening of a status link: when, from where (the address's network prefix only), with what."""

    link = models.ForeignKey(StatusLink, on_delete=models.CASCADE, related_name="opens", verbose_name=_("link"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    ip_prefix = models.CharField(_("network"), max_length=50, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    # What happened: shown, or refused as expired, revoked or over the rate limit.
    outcome = models.CharField(_("outcome"), max_length=12)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("status link open")
        verbose_name_plural = _("status link opens")
        indexes = [models.Index(fields=["link", "-opened_at"], name="status_link_open_link")]

    def __str__(self) -> str:
        return f"{self.link_id} {self.opened_at:%Y-%m-%d %H:%M} {self.outcome}"


class LinkRenewalRequest(models.Model):
    """Someone holding an expired or revoked link asked for a fresh one to the contact on file."""

    link = models.ForeignKey(
        StatusLink, on_delete=models.CASCADE, related_name="renewal_requests", verbose_name=_("link")
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    ip_prefix = models.CharField(_("network"), max_length=50, blank=True)
    # False when a request for the same link was published within the hour before.
    published = models.BooleanField(_("passed on"), default=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("fresh link request")
        verbose_name_plural = _("fresh link requests")

    def __str__(self) -> str:
        return f"{self.link_id} {self.requested_at:%Y-%m-%d %H:%M}"


class ConfirmationState(models.TextChoices):
    APPLIED = "applied", _("Recorded")  # the verified event was written
    CONFLICT = "conflict", _("Waiting for the technician")  # the line changed: the technician decides
    DISCARDED = "discarded", _("Discarded by the technician")  # the technician dropped it


class DeliveryConfirmation(models.Model):
    """A technician's on-site delivery confirmation, kept by the key the device generated: a
    retry with the same key is the same confirmation."""

    key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="delivery_confirmations", verbose_name=_("line")
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("technician"),
    )
    link = models.ForeignKey(
        StatusLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("status link")
    )
    scanned_code = models.CharField(_("scanned or typed code"), max_length=120)
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.TextField(_("note"), blank=True)
    photo = models.FileField(
        _("photo"),
        upload_to="delivery-photos/%Y/%m/",
        blank=True,
        validators=[FileExtensionValidator(["jpg", "jpeg", "png", "webp", "heic"])],
    )
    confirmed_at = models.DateTimeField(_("confirmed on site at"), help_text=_("The device's clock."))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    state = models.CharField(_("state"), max_length=10, choices=ConfirmationState.choices)
    conflict = models.CharField(_("conflict"), max_length=300, blank=True)
    # The StatusEvent the confirmation became (orders keeps the event; we keep its id).
    event_id = models.BigIntegerField(_("status event"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("delivery confirmation")
        verbose_name_plural = _("delivery confirmations")

    def __str__(self) -> str:
        return f"{self.line} × {self.quantity} ({self.get_state_display()})"
