"""Message templates per event, channel and locale, edited in the admin with history. Without
one for a locale the fallback chain is followed (fr-CA, fr, en), then the wording shipped in
locale/ (notifications.wording)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from notifications.models.rules import EventKind


class TemplateChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("Email")


class MessageTemplate(models.Model):
    event_kind = models.CharField(_("event"), max_length=30, choices=EventKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=TemplateChannel.choices)
    locale = models.CharField(_("locale"), max_length=16, help_text=_("A language, or language and region: fr, fr-CA."))
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body_text = models.TextField(
        _("text"), help_text=_("Django template syntax: {{ order_number }}, {{ status }}, {{ status_link }} ...")
    )
    body_html = models.TextField(
        _("HTML"), blank=True, help_text=_("Email only. Blank: the text in the standard layout with a status link.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Counts the saves: the delivery log names the version a message was rendered from.
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["event_kind", "channel", "locale"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(fields=["event_kind", "channel", "locale"], name="template_once_per_locale")
        ]

    def __str__(self) -> str:
        return f"{self.get_event_kind_display()} · {self.get_channel_display()} · {self.locale}"

    def save(self, *args, **kwargs) -> None:
        self.locale = normalise_locale(self.locale)
        self.version += 1
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from notifications.rendering import HTML_ENGINE, TEXT_ENGINE
        from notifications.template_safety import template_problems

        errors = {}
        for name, engine in (("subject", TEXT_ENGINE), ("body_text", TEXT_ENGINE), ("body_html", HTML_ENGINE)):
            problems = template_problems(engine, getattr(self, name))
            if problems:
                errors[name] = problems
        if errors:
            raise ValidationError(errors)


def normalise_locale(value: str) -> str:
    """fr_CA, fr-ca and FR-CA are all fr-ca."""
    return value.strip().replace("_", "-").lower()
