"""The canonical line status vocabulary: every source system's codes map onto these.

Pure Python (no database): ranks order the normal path, weights drive progress percentages,
and customer stages say what a customer may see of each status.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LineStatus(models.TextChoices):
    RECEIVED = "received", _("Received")  # order line accepted by the ERP
    RELEASED = "released", _("Released")  # released to fulfilment (credit and checks passed)
    AWAITING_PART = "awaiting_part", _("Awaiting part")  # backorder: no stock to allocate
    ALLOCATED = "allocated", _("Allocated")  # stock reserved at the fulfilling site
    PICKING = "picking", _("Picking")  # warehouse task to pick the part is open
    AWAITING_KITTING = "awaiting_kitting", _("Awaiting kitting")  # picked, waiting to be kitted
    PACKED = "packed", _("Packed")  # packed and waiting for the carrier
    SHIPPED = "shipped", _("Shipped")  # goods issue posted, left the site
    IN_TRANSIT = "in_transit", _("In transit")  # the carrier reports it moving
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")  # on the last-mile vehicle
    DELIVERED = "delivered", _("Delivered")  # proof of delivery at the destination
    VERIFIED = "verified", _("Verified on site")  # technician confirmed the part on site
    ON_HOLD = "on_hold", _("On hold")  # stopped on purpose (credit, quality, customer request)
    EXCEPTION = "exception", _("Exception")  # something went wrong (damage, lost, delay)
    CANCELLED = "cancelled", _("Cancelled")  # will not be fulfilled
    RETURNED = "returned", _("Returned")  # came back after shipping


# The normal path, in order. A line may move forward along it, skipping steps.
PATH: tuple[str, ...] = (
    LineStatus.RECEIVED,
    LineStatus.RELEASED,
    LineStatus.AWAITING_PART,
    LineStatus.ALLOCATED,
    LineStatus.PICKING,
    LineStatus.AWAITING_KITTING,
    LineStatus.PACKED,
    LineStatus.SHIPPED,
    LineStatus.IN_TRANSIT,
    LineStatus.OUT_FOR_DELIVERY,
    LineStatus.DELIVERED,
    LineStatus.VERIFIED,
)
RANK: dict[str, int] = {status: index for index, status in enumerate(PATH)}

# States from which nothing moves on except through an override.
TERMINAL: frozenset[str] = frozenset({LineStatus.VERIFIED, LineStatus.CANCELLED, LineStatus.RETURNED})
# Interruptions: the line keeps the path status it had when it was interrupted.
INTERRUPTIONS: frozenset[str] = frozenset({LineStatus.ON_HOLD, LineStatus.EXCEPTION})
# Statuses a line can be interrupted, cancelled or returned from.
BEFORE_SHIPPING: tuple[str, ...] = PATH[: RANK[LineStatus.SHIPPED]]
AFTER_SHIPPING: tuple[str, ...] = PATH[RANK[LineStatus.SHIPPED] :]
UNDELIVERED: tuple[str, ...] = PATH[: RANK[LineStatus.DELIVERED]]

# Share of the way to the customer, used for quantity-weighted progress.
PROGRESS_WEIGHT: dict[str, float] = {
    LineStatus.RECEIVED: 0.0,
    LineStatus.RELEASED: 0.05,
    LineStatus.AWAITING_PART: 0.05,
    LineStatus.ALLOCATED: 0.2,
    LineStatus.PICKING: 0.35,
    LineStatus.AWAITING_KITTING: 0.45,
    LineStatus.PACKED: 0.55,
    LineStatus.SHIPPED: 0.7,
    LineStatus.IN_TRANSIT: 0.8,
    LineStatus.OUT_FOR_DELIVERY: 0.9,
    LineStatus.DELIVERED: 1.0,
    LineStatus.VERIFIED: 1.0,
}

# Internal-only statuses and the status whose customer label they show instead.
CUSTOMER_ALIAS: dict[str, str] = {LineStatus.AWAITING_KITTING: LineStatus.PICKING}


def sources_before(target: str) -> list[str]:
    """Path statuses from which `target` is a forward move, plus the interruptions."""
    return [*PATH[: RANK[target]], *INTERRUPTIONS]


def is_forward(current: str, target: str) -> bool:
    return current in RANK and target in RANK and RANK[target] > RANK[current]


def customer_status(status: str) -> str:
    """The status whose customer-facing label a customer sees for `status`."""
    return CUSTOMER_ALIAS.get(status, status)


# Default customer-facing texts; the database copy (StatusDefinition) is editable per language.
CUSTOMER_DEFAULTS: dict[str, tuple[str, str]] = {
    LineStatus.RECEIVED: (_("Order received"), _("We have your order and are checking it.")),
    LineStatus.RELEASED: (_("Order confirmed"), _("Your order is confirmed and queued for the warehouse.")),
    LineStatus.AWAITING_PART: (
        _("Awaiting stock"),
        _("The part is not in stock yet. We are sourcing it and will update you."),
    ),
    LineStatus.ALLOCATED: (_("Reserved for you"), _("Stock has been reserved for your order.")),
    LineStatus.PICKING: (_("Being prepared"), _("The warehouse is preparing your part.")),
    LineStatus.AWAITING_KITTING: (_("Being prepared"), _("The warehouse is preparing your part.")),
    LineStatus.PACKED: (_("Ready to ship"), _("Your part is packed and waiting for the carrier.")),
    LineStatus.SHIPPED: (_("Shipped"), _("Your part has left the warehouse.")),
    LineStatus.IN_TRANSIT: (_("On its way"), _("The carrier is bringing your part to you.")),
    LineStatus.OUT_FOR_DELIVERY: (_("Out for delivery"), _("Your part will be delivered today.")),
    LineStatus.DELIVERED: (_("Delivered"), _("Your part has been delivered.")),
    LineStatus.VERIFIED: (_("Received on site"), _("The technician confirmed the part on site.")),
    LineStatus.ON_HOLD: (_("On hold"), _("Your order is paused. We will contact you if we need anything.")),
    LineStatus.EXCEPTION: (
        _("Delayed"),
        _("Something is delaying your part. Our team is working on it."),
    ),
    LineStatus.CANCELLED: (_("Cancelled"), _("This part will not be delivered.")),
    LineStatus.RETURNED: (_("Returned"), _("The part has been returned.")),
}

# How a status reads inside a sentence ("2 of 3 lines shipped, 1 awaiting part at DC Rotterdam").
IN_SENTENCE: dict[str, str] = {
    LineStatus.RECEIVED: _("received"),
    LineStatus.RELEASED: _("released"),
    LineStatus.AWAITING_PART: _("awaiting part"),
    LineStatus.ALLOCATED: _("allocated"),
    LineStatus.PICKING: _("being picked"),
    LineStatus.AWAITING_KITTING: _("awaiting kitting"),
    LineStatus.PACKED: _("packed"),
    LineStatus.SHIPPED: _("shipped"),
    LineStatus.IN_TRANSIT: _("in transit"),
    LineStatus.OUT_FOR_DELIVERY: _("out for delivery"),
    LineStatus.DELIVERED: _("delivered"),
    LineStatus.VERIFIED: _("verified on site"),
    LineStatus.ON_HOLD: _("on hold"),
    LineStatus.EXCEPTION: _("with an exception"),
    LineStatus.CANCELLED: _("cancelled"),
    LineStatus.RETURNED: _("returned"),
}
