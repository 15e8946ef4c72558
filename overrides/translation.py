"""Translated fields (modeltranslation), then history for the configuration tables."""

import simple_history
from modeltranslation.translator import TranslationOptions, register

from overrides.models import DiscrepancyRule, EscalationStep, OverrideReason, StaleStatusRule


@register(OverrideReason)
class OverrideReasonTranslationOptions(TranslationOptions):
    fields = ("label",)


simple_history.register(OverrideReason, app="overrides")
for model in (StaleStatusRule, EscalationStep, DiscrepancyRule):
    simple_history.register(model, app="overrides")
