from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OverridesConfig(AppConfig):
    name = "overrides"
    verbose_name = _("Overrides and escalations")

    def ready(self) -> None:
        from config import sign_in_limits
        from orders.publication import register_status_change_hook
        from orders.suppression_approvals import suppression_approval_lookup_register
        from overrides import handlers, live
        from overrides.services.alerts import stale_alerts_resolve_for_lines
        from overrides.services.requests import suppressions_with_approved_request

        handlers.register()
        live.register()
        sign_in_limits.connect()  # every sign-in (portal, back office, admin, API) counts
        register_status_change_hook(name="overrides.stale_alerts", hook=stale_alerts_resolve_for_lines)
        suppression_approval_lookup_register(suppressions_with_approved_request)
        # The role groups are reference data every installation needs, like Django's permissions.
        post_migrate.connect(_sync_roles, dispatch_uid="overrides-roles")


def _sync_roles(sender, **kwargs) -> None:
    # Runs after every app's post_migrate permissions exist: connected without a sender, it
    # fires once per app with a models module; the last call sees them all, and the sync is
    # idempotent. Apps without models (notifications, reporting) get no signal at all.
    from django.apps import apps

    with_models = [config.name for config in apps.get_app_configs() if config.models_module is not None]
    if sender.name != with_models[-1]:
        return
    from overrides.roles import roles_sync
    from overrides.services.reasons import override_reasons_sync

    roles_sync()
    override_reasons_sync()
