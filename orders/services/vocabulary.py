"""Keeping the status vocabulary table complete, with default texts in every language."""

from django.conf import settings
from django.utils import translation

from orders.models import StatusDefinition
from orders.status import CUSTOMER_DEFAULTS


def status_definitions_sync(*, using: str = "default") -> int:
    """Create the missing StatusDefinition rows with the translated defaults from locale/.

    Existing rows are left alone: their texts may have been edited in the admin.
    Returns how many rows were created.
    """
    existing = set(StatusDefinition.objects.using(using).values_list("code", flat=True))
    created = 0
    for code, (label, description) in CUSTOMER_DEFAULTS.items():
        if code in existing:
            continue
        texts = {}
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                texts[f"customer_label_{language}"] = str(label)
                texts[f"customer_description_{language}"] = str(description)
        StatusDefinition.objects.using(using).create(code=code, **texts)
        created += 1
    return created
