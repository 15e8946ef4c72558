"""Building an order's view for an audience from the database, as plain JSON-safe data.

Customer rules (the architecture's "reads by audience"): statuses are customer statuses
(internal ones such as awaiting kitting show as the status they stand for); the timeline holds
only applied status changes, never hidden (suppressed), stale, rejected, contested or
remembered facts; no staff names, reasons or notes, no integer ids. The technician view is the
customer view plus what a technician may know: fulfilling site, carrier and tracking per line,
and the order's contacts.
"""

from collections import Counter
from urllib.parse import quote

from django.conf import settings
from django.db.models import Prefetch

from orders.models import (
    ContactRole,
    EventKind,
    EventOutcome,
    EventSuppression,
    Order,
    OrderContact,
    OrderLine,
    Shipment,
    ShipmentLine,
    StatusEvent,
)
from orders.selectors import _line_sort_key
from orders.services.facts import event_kind
from orders.status import RANK, LineStatus, customer_status

# Changes a customer sees on the timeline (a line's start is shown once, for lines not split off).
TIMELINE_KINDS = frozenset({EventKind.START, EventKind.FACT, EventKind.OVERRIDE, EventKind.HELD_OVERRIDE})
AT_DESTINATION = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED})
SHIPPED_RANK = RANK[LineStatus.SHIPPED]
TECHNICIAN = "technician"


def order_view_build(order: Order, *, audience: str) -> dict:
    """The order as `audience` may see it, in a fixed number of queries whatever its size."""
    lines = list(OrderLine.objects.filter(order=order).select_related("part", "site"))
    lines.sort(key=lambda line: _line_sort_key(line.number))
    by_id = {line.pk: line for line in lines}
    shipments = list(
        Shipment.objects.filter(order=order)
        .prefetch_related(Prefetch("lines", queryset=ShipmentLine.objects.order_by("line_id")))
        .order_by("created_at", "pk")
    )
    events = list(
        StatusEvent.objects.filter(order=order, outcome=EventOutcome.APPLIED)
        .exclude(pk__in=EventSuppression.objects.filter(event__order=order).values("event_id"))
        .only("line_id", "sequence", "to_status", "occurred_at", "kind", "from_status", "reason_code", "actor_kind")
        .order_by("occurred_at", "line_id", "sequence")
    )
    technician = audience == TECHNICIAN
    view = {
        "order": _order_part(order),
        "lines": [_line_part(line, by_id, technician=technician) for line in lines],
        "shipments": [_shipment_part(shipment, by_id, technician=technician) for shipment in shipments],
        "timeline": _timeline(events, by_id),
        "counts": _counts(lines),
    }
    if technician:
        contacts = OrderContact.objects.filter(order=order).exclude(role=ContactRole.PLANNER).order_by("role", "pk")
        view["contacts"] = [
            {"role": contact.role, "name": contact.name, "phone": contact.phone, "email": contact.email}
            for contact in contacts
        ]
    return view


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _order_part(order: Order) -> dict:
    asset = order.asset
    return {
        "public_id": str(order.public_id),
        "number": order.number,
        "customer_reference": order.customer_reference,
        "account": order.account.name,
        "asset": (
            {"serial_number": asset.serial_number, "model_name": asset.model_name, "location": asset.location}
            if asset is not None
            else None
        ),
        "status": customer_status(order.status),
        "progress": float(order.progress_percent),
        "earliest_eta": _iso(order.earliest_eta),
        "latest_eta": _iso(order.latest_eta),
        "promised_date": _iso(order.promised_date),
        "sequence": order.outbox_sequence,
    }


def _line_part(line: OrderLine, by_id: dict[int, OrderLine], *, technician: bool) -> dict:
    depth, parent = 0, line.parent_id
    while parent is not None:
        depth, parent = depth + 1, by_id[parent].parent_id
    part = {
        "public_id": str(line.public_id),
        "number": line.number,
        "parent": str(by_id[line.parent_id].public_id) if line.parent_id else None,
        "depth": depth,
        "part_number": line.part.number,
        "part_description": line.part.description,
        "quantity": line.quantity,
        "status": customer_status(line.status),
        "eta": _iso(line.eta),
        "is_split": line.is_split,
        "delivered_quantity": line.quantity if line.status in AT_DESTINATION and not line.is_split else 0,
    }
    if technician:
        part.update(
            site=line.site.name if line.site else "",
            carrier=line.carrier,
            tracking_number=line.tracking_number,
        )
    return part


def tracking_url(carrier: str, tracking_number: str) -> str:
    """The carrier's public tracking page for the number (settings.CARRIER_TRACKING_URLS, "{number}"
    standing for it), or "" where none is configured."""
    template = settings.CARRIER_TRACKING_URLS.get(carrier.upper()) if carrier and tracking_number else None
    return template.replace("{number}", quote(tracking_number, safe="")) if template else ""


def _shipment_part(shipment: Shipment, by_id: dict[int, OrderLine], *, technician: bool) -> dict:
    carried = [(by_id[item.line_id], item.quantity) for item in shipment.lines.all() if item.line_id in by_id]
    part = {
        "public_id": str(shipment.public_id),
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "tracking_url": tracking_url(shipment.carrier, shipment.tracking_number),
        "eta": _iso(shipment.eta),
        "last_location": shipment.last_location,
        "last_location_at": _iso(shipment.last_location_at),
        "quantity": sum(quantity for _line, quantity in carried),
        "delivered_quantity": sum(quantity for line, quantity in carried if line.status in AT_DESTINATION),
        "lines": [
            {"line": line.number, "line_public_id": str(line.public_id), "quantity": quantity}
            for line, quantity in carried
        ],
    }
    if technician:
        part["ship_from"] = shipment.ship_from.name if shipment.ship_from_id else shipment.ship_from_code
    return part


def _timeline(events: list[StatusEvent], by_id: dict[int, OrderLine]) -> list[dict]:
    """Applied changes in source time; a line's start only for lines not split off another, and a
    change a customer would not notice (two internal statuses with one customer label) once."""
    entries, last_shown = [], {}
    for event in events:
        line = by_id[event.line_id]
        kind = event_kind(event)
        if kind not in TIMELINE_KINDS or (kind == EventKind.START and line.parent_id is not None):
            continue
        status = customer_status(event.to_status)
        if last_shown.get(line.pk) == status:
            continue
        last_shown[line.pk] = status
        entries.append(
            {
                "id": f"{line.public_id}:{event.sequence}",
                "at": event.occurred_at.isoformat(),
                "line": line.number,
                "line_public_id": str(line.public_id),
                "status": status,
            }
        )
    return entries


def _counts(lines: list[OrderLine]) -> dict:
    """What the one-line summary says, counted over the leaf lines still active."""
    active = [line for line in lines if not line.is_split and line.status != LineStatus.CANCELLED]
    shipped = [line for line in active if RANK.get(line.progress_status, -1) >= SHIPPED_RANK]
    waiting = Counter(customer_status(line.status) for line in active if line not in shipped)
    return {"total": len(active), "shipped": len(shipped), "waiting": dict(sorted(waiting.items()))}
