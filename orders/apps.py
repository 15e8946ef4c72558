from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders and status")

    def ready(self) -> None:
        from orders import live
        from orders.read_models import freshness
        from orders.services.preferences import preferences_cache_connect

        live.register()
        preferences_cache_connect()
        freshness.connect()
        # Reference rows every installation needs, like Django's own permissions.
        post_migrate.connect(_sync_vocabulary, sender=self, dispatch_uid="orders-vocabulary")


def _sync_vocabulary(sender, using="default", **kwargs) -> None:
    from orders.services.vocabulary import status_definitions_sync

    status_definitions_sync(using=using)
