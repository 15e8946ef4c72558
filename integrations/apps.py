from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from orders.clocks import clock_tolerance_lookup_register

        clock_tolerance_lookup_register(_source_clock_tolerances)


def _source_clock_tolerances(codes: set[str]):
    from integrations.models import SourceSystem

    return dict(SourceSystem.objects.filter(code__in=codes).values_list("code", "clock_tolerance"))
