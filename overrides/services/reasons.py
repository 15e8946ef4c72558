"""The default override reasons every installation starts with, labelled in each language."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from overrides.models import OverrideReason

DEFAULT_REASONS: list[tuple[str, str]] = [
    ("shipped_outside_system", gettext_noop("Part left outside any system process")),
    ("data_correction", gettext_noop("Data correction")),
    ("customer_request", gettext_noop("Customer request")),
    ("carrier_confirmed", gettext_noop("Carrier confirmed by phone or e-mail")),
    ("duplicate_event", gettext_noop("Duplicate or wrong event")),
    ("reconciliation", gettext_noop("Reconciliation after an outage")),
]


def override_reasons_sync() -> None:
    """Create the missing default reasons and fill in blank translations (idempotent).

    Existing labels are left alone: an administrator may have reworded or deactivated them.
    Runs after migrate (overrides.apps), so a fresh database has reasons to choose from.
    """
    for code, label in DEFAULT_REASONS:
        labels = _labels(label)
        reason, created = OverrideReason.objects.get_or_create(code=code, defaults=labels)
        if created:
            continue
        blank = {field: text for field, text in labels.items() if not getattr(reason, field)}
        if blank:
            for field, text in blank.items():
                setattr(reason, field, text)
            reason.save(update_fields=list(blank))


def _labels(label: str) -> dict[str, str]:
    """The label in every language the catalogues translate it to; a language without a
    translation stays blank, so modeltranslation falls back to English until one arrives."""
    labels = {f"label_{settings.MODELTRANSLATION_DEFAULT_LANGUAGE}": label}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            translated = gettext(label)
        if translated != label:
            labels[f"label_{language}"] = translated
    return labels
