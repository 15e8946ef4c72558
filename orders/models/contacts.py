"""The people an order concerns: who asked for the part, who will fit it, who plans it. Portal
users and technicians are linked by `user`; messages reach the others by email or phone."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models.people import validate_time_zone


class ContactRole(models.TextChoices):
    REQUESTER = "requester", _("Requester")  # the customer or dealer person who ordered
    TECHNICIAN = "technician", _("Field technician")  # fits the part on site
    PLANNER = "planner", _("Responsible planner")  # works the order in the back office


class OrderContact(models.Model):
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="contacts", verbose_name=_("order")
    )
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order_contacts",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=120)
    email = models.EmailField(_("email"), blank=True)
    # E.164, e.g. +4915112345678
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True, help_text=_("Blank: the account's."))
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, validators=[validate_time_zone])

    class Meta:
        ordering = ["order", "role", "id"]
        verbose_name = _("order contact")
        verbose_name_plural = _("order contacts")
        indexes = [models.Index(fields=["user", "role"], name="contact_user_role")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"
