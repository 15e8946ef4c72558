from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OverridesConfig(AppConfig):
    name = "overrides"
    verbose_name = _("Overrides and escalations")
