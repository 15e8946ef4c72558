"""Translated fields (modeltranslation) and, after them, history for the same models.

simple-history must be registered after the translation fields exist, or every save breaks.
"""

import simple_history
from modeltranslation.translator import TranslationOptions, register

from orders.models import StatusDefinition


@register(StatusDefinition)
class StatusDefinitionTranslationOptions(TranslationOptions):
    fields = ("customer_label", "customer_description")


simple_history.register(StatusDefinition, app="orders")
