"""Shipments: recording what left (goods issue, partial confirmation) and what carriers say.

Lock order: the order first, then its lines by id, like every write of the core.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from orders.models import Issuer, LineReference, Order, OrderLine, Shipment, ShipmentLine, Site
from orders.publication import Topic
from orders.services.outbox import outbox_publish

LINE_FIELDS = ["tracking_number", "carrier", "updated_at"]


@dataclass(frozen=True)
class ShipmentData:
    """A shipment's identifiers and what is known of it, as a source or carrier gives them."""

    carrier: str = ""  # SCAC
    tracking_number: str = ""
    bill_of_lading: str = ""
    pro_number: str = ""
    ship_from: str = ""  # a site code or the source's shipping point
    eta: datetime | None = None
    location: str = ""
    packages: int | None = None

    @property
    def numbers(self) -> dict[str, str]:
        found = {
            "bill_of_lading": self.bill_of_lading,
            "pro_number": self.pro_number,
            "tracking_number": self.tracking_number,
        }
        return {name: value for name, value in found.items() if value}


def shipment_record(
    *, line_id: int, quantity: int, data: ShipmentData, source_system: str, occurred_at: datetime
) -> Shipment:
    """Put `quantity` of the line on the shipment that left: the order's shipment with the same
    numbers (from any source), else a new one. The line carries the shipment's numbers as
    references: the bill of lading issued by the source, PRO and tracking by the carrier."""
    with transaction.atomic():
        order_id = OrderLine.objects.values_list("order_id", flat=True).get(pk=line_id)
        Order.objects.select_for_update().filter(pk=order_id).first()
        line = OrderLine.objects.select_for_update().get(pk=line_id)
        shipment = _shipment_find(order_id=order_id, line_id=line_id, data=data, source_system=source_system)
        if shipment is None:
            shipment = Shipment(order_id=order_id, source_system=source_system)
        _shipment_fill(shipment, data, occurred_at=occurred_at)
        shipment.save()
        ShipmentLine.objects.update_or_create(shipment=shipment, line=line, defaults={"quantity": quantity})
        _line_numbers_take(line, shipment, source_system=source_system)
        return shipment


def shipment_track(*, shipment_id: int, data: ShipmentData, occurred_at: datetime) -> Shipment:
    """What a carrier says about a shipment on the move: its carrier when not known yet, the
    latest location by source time, the newest ETA it gives."""
    with transaction.atomic():
        # The one lock order: the shipment's order first.
        order_id = Shipment.objects.values_list("order_id", flat=True).get(pk=shipment_id)
        Order.objects.select_for_update().filter(pk=order_id).first()
        shipment = Shipment.objects.select_for_update().get(pk=shipment_id)
        previous_eta = shipment.eta
        shown_before = _shown(shipment)
        _shipment_fill(shipment, data, occurred_at=occurred_at)
        shipment.save()
        if previous_eta is not None and shipment.eta != previous_eta:
            _shipment_eta_publish(shipment, previous_eta=previous_eta)
        if _shown(shipment) != shown_before:
            # The order's sequence moves on, so live pages and their polling fallback follow.
            outbox_publish(
                topic=Topic.SHIPMENT_UPDATED,
                order=shipment.order,
                payload={"order_id": shipment.order_id, "shipment_id": shipment.pk},
            )
        return shipment


SHOWN_FIELDS = ("carrier", "tracking_number", "bill_of_lading", "pro_number", "ship_from_code", "last_location", "eta")


def _shown(shipment: Shipment) -> tuple:
    """What pages show of a shipment."""
    return tuple(getattr(shipment, name) for name in SHOWN_FIELDS)


def _shipment_eta_publish(shipment: Shipment, *, previous_eta: datetime) -> None:
    """The carrier moved its ETA: each line on the shipment says so (notifications hear of it)."""
    for shipped in shipment.lines.select_related("line").order_by("line_id"):
        outbox_publish(
            topic=Topic.LINE_ETA_CHANGED,
            order=shipment.order,
            payload={
                "order_id": shipment.order_id,
                "line_id": shipped.line_id,
                "line_number": shipped.line.number,
                "previous_eta": previous_eta.isoformat(),
                "eta": shipment.eta.isoformat(),
                "source_system": shipment.source_system,
                "shipment_id": shipment.pk,
            },
        )


def _shipment_find(*, order_id: int, line_id: int, data: ShipmentData, source_system: str) -> Shipment | None:
    shipments = Shipment.objects.select_for_update().filter(order_id=order_id)
    numbers = data.numbers
    if numbers:
        # One bill of lading (PRO, tracking number) of an order is one shipment, whichever
        # system reports it: the ERP's goods issue and the warehouse's confirmation of it too.
        same = Q()
        for name, value in numbers.items():
            same |= Q(**{name: value})
        return shipments.filter(same).order_by("pk").first()
    # No numbers yet: the same confirmation again finds the shipment the line is already on.
    return shipments.filter(source_system=source_system, lines__line_id=line_id).order_by("pk").first()


def _shipment_fill(shipment: Shipment, data: ShipmentData, *, occurred_at: datetime) -> None:
    for name in ("carrier", "tracking_number", "bill_of_lading", "pro_number"):
        if getattr(data, name) and not getattr(shipment, name):
            setattr(shipment, name, getattr(data, name))
    if data.ship_from and not shipment.ship_from_code:
        shipment.ship_from_code = data.ship_from
        shipment.ship_from = Site.objects.filter(code=data.ship_from).first()
    newer = shipment.last_location_at is None or occurred_at >= shipment.last_location_at
    if data.location and newer:
        shipment.last_location = data.location
        shipment.last_location_at = occurred_at
    if data.eta and (newer or shipment.eta is None):
        shipment.eta = data.eta
    if data.packages:
        shipment.packages = data.packages


def _line_numbers_take(line: OrderLine, shipment: Shipment, *, source_system: str) -> None:
    carrier_issuer = (Issuer.CARRIER, shipment.carrier) if shipment.carrier else (Issuer.SOURCE, source_system)
    wanted = [
        (LineReference.Kind.BILL_OF_LADING, shipment.bill_of_lading, (Issuer.SOURCE, source_system)),
        (LineReference.Kind.PRO_NUMBER, shipment.pro_number, carrier_issuer),
        (LineReference.Kind.TRACKING_NUMBER, shipment.tracking_number, carrier_issuer),
    ]
    for kind, value, (issuer_kind, issuer) in wanted:
        if value:
            LineReference.objects.get_or_create(
                line=line, issuer_kind=issuer_kind, issuer=issuer, kind=kind, value=value
            )
    changed = False
    for name in ("tracking_number", "carrier"):
        if getattr(shipment, name) and not getattr(line, name):
            setattr(line, name, getattr(shipment, name))
            changed = True
    if changed:
        line.save(update_fields=LINE_FIELDS)
