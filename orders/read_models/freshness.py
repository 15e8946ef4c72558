"""What an order's views show but no outbox event versions: its contacts (the technician's view
lists them). A contact saved or deleted, in the admin or by an upsert, marks the order saved
(updated_at), which is part of every view's version (orders.read_models.cache.view_version):
the next read shows the change, and a removed person's name or number is never shown again."""

from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from orders.models import Order, OrderContact


def _contact_changed(sender, instance: OrderContact, **kwargs) -> None:
    Order.objects.filter(pk=instance.order_id).update(updated_at=timezone.now())


def connect() -> None:
    post_save.connect(_contact_changed, sender=OrderContact, dispatch_uid="read-models-contact-saved")
    post_delete.connect(_contact_changed, sender=OrderContact, dispatch_uid="read-models-contact-deleted")
