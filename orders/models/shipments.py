"""Shipments: what left a site together under one carrier document, and which lines it carries.

A shipment is created by a goods issue or a partial confirmation (orders.services.shipments);
carrier facts (X12 214, carrier webhooks) reach only the lines of their shipment.
"""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models.order import Order, OrderLine
from orders.models.reference import Site
from orders.search_keys import search_key


class Shipment(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order"))
    carrier = models.CharField(_("carrier (SCAC)"), max_length=10, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=60, blank=True)
    bill_of_lading = models.CharField(_("bill of lading"), max_length=60, blank=True)
    pro_number = models.CharField(_("PRO number"), max_length=60, blank=True)
    ship_from = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("shipped from")
    )
    # The shipping point as the source wrote it, kept when it names no site we know.
    ship_from_code = models.CharField(_("shipping point"), max_length=30, blank=True)
    eta = models.DateTimeField(_("ETA"), null=True, blank=True)
    last_location = models.CharField(_("last known location"), max_length=200, blank=True)
    last_location_at = models.DateTimeField(_("last location at"), null=True, blank=True)
    packages = models.PositiveIntegerField(_("packages (lading quantity)"), null=True, blank=True)
    # The code of the source system whose message created the shipment: it issued its numbers.
    source_system = models.CharField(_("created from source"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["order_id", "created_at", "id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [
            models.Index(fields=["bill_of_lading"], name="shipment_bill_of_lading"),
            models.Index(fields=["pro_number"], name="shipment_pro_number"),
            models.Index(fields=["tracking_number"], name="shipment_tracking_number"),
            models.Index(search_key("tracking_number"), name="shipment_tracking_search_key"),
        ]

    def __str__(self) -> str:
        number = self.bill_of_lading or self.pro_number or self.tracking_number or str(self.public_id)[:8]
        return f"{self.carrier} {number}".strip()

    @property
    def numbers(self) -> list[str]:
        """The shipment's numbers, carrier's tracking number first."""
        return [number for number in (self.tracking_number, self.bill_of_lading, self.pro_number) if number]


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines", verbose_name=_("shipment"))
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="shipment_lines", verbose_name=_("line"))
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["shipment_id", "line_id"]
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line"], name="unique_shipment_line"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="shipment_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment} × {self.quantity}"
