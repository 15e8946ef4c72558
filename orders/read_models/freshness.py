"""What an order's views show but no outbox event versions. A contact saved or deleted (the
technician's view lists them, in the admin or by an upsert; a line edited there publishes
line.edited instead: orders.services.lines) marks the order's views changed
(view_changed_at), which is part of every view's version (orders.read_models.cache.view_version):
the next read shows the change, and a removed person's name or number is never shown again.
Reference data no order carries (a part's description, a site's or an account's name) shows
when the cached views and pages expire (orders.read_models.cache.CACHE_SECONDS, portal.page_cache)."""

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from orders.models import Order, OrderContact


def views_changed(order_id: int) -> None:
    """The order's views are stale: their version changes."""
    Order.objects.filter(pk=order_id).update(view_changed_at=timezone.now())


def _contact_changed(sender, instance: OrderContact, **kwargs) -> None:
    views_changed(instance.order_id)


def connect() -> None:
    post_save.connect(_contact_changed, sender=OrderContact, dispatch_uid="read-models-contact-saved")
    post_delete.connect(_contact_changed, sender=OrderContact, dispatch_uid="read-models-contact-deleted")
