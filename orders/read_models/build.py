"""Building an order's view for an audience from the database, as plain JSON-safe data.

Customer rules (the architecture's "reads by audience"): statuses are customer statuses
(internal ones such as awaiting kitting show as the status they stand for); the timeline holds
only applied status changes, never hidden (suppressed), stale, rejected, contested or
remembered facts; no staff names, reasons or notes, no integer ids. The technician view is the
customer view plus what a technician may know: fulfilling site, carrier and tracking per line,
and the order's contacts.
"""

from datetime import datetime
from urllib.parse import quote

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch

from orders.carriers import carrier_display
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
from orders.read_models.header import Expected, lines_counts, lines_header
from orders.selectors import _line_sort_key
from orders.services.facts import event_kind
from orders.services.rollup import rolled_up_status
from orders.status import PROGRESS_WEIGHT, RANK, LineStatus, customer_status

# Changes a customer sees on the timeline (a line's start is shown once, for lines not split off).
TIMELINE_KINDS = frozenset({EventKind.START, EventKind.FACT, EventKind.OVERRIDE, EventKind.HELD_OVERRIDE})
AT_DESTINATION = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED})
# A line that will not come (any more) expects nothing: it shows no ETA.
NOT_COMING = frozenset({LineStatus.CANCELLED, LineStatus.RETURNED})
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
        .annotate(hidden=Exists(EventSuppression.objects.filter(event=OuterRef("pk"))))
        .only("line_id", "sequence", "to_status", "occurred_at", "kind", "from_status", "reason_code", "actor_kind")
        .order_by("occurred_at", "line_id", "sequence")
    )
    technician = audience == TECHNICIAN
    visible = [event for event in events if not event.hidden]
    shown = _shown_statuses(lines, events)
    arrived = _arrival_times(lines, shown, visible, destination_confirmations(lines, shown))
    carrier_etas = _carrier_etas(shipments)
    statuses = {line_id: status for line_id, (status, _progress) in shown.items()}
    line_parts = [
        _line_part(line, by_id, shown[line.pk], carrier_etas.get(line.pk), arrived.get(line.pk), technician=technician)
        for line in lines
    ]
    view = {
        "order": {**_order_part(order), **(lines_header(line_parts) if line_parts else {})},
        "lines": line_parts,
        "shipments": [
            _shipment_part(shipment, by_id, statuses, arrived, technician=technician) for shipment in shipments
        ],
        "timeline": _timeline(visible, by_id),
        "counts": lines_counts(line_parts),
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
        "expected": Expected.NOTHING,  # an order without lines; else its lines' (lines_header)
        "earliest_eta": _iso(order.earliest_eta),
        "latest_eta": _iso(order.latest_eta),
        "promised_date": _iso(order.promised_date),
        "sequence": order.outbox_sequence,
    }


def _shown_statuses(lines: list[OrderLine], events: list[StatusEvent]) -> dict[int, tuple[str, str]]:
    """{line id: (status, progress status)} as customers are shown them. A line whose current
    status was set by an event hidden from customers shows its last visible status instead (and
    a split parent the rollup of what its children show)."""
    shown = {line.pk: (line.status, line.progress_status) for line in lines}
    per_line: dict[int, list[StatusEvent]] = {}
    for event in events:
        per_line.setdefault(event.line_id, []).append(event)
    fell_back = False
    for line_id, line_events in per_line.items():
        line_events.sort(key=lambda event: event.sequence)
        if not line_events[-1].hidden:
            continue
        visible = [event for event in line_events if not event.hidden]
        if not visible:
            continue
        path = [event.to_status for event in visible if event.to_status in PROGRESS_WEIGHT]
        status = visible[-1].to_status
        shown[line_id] = (status, path[-1] if path else status)
        fell_back = True
    if fell_back:
        for line in reversed(lines):  # children sort after their parents
            if line.is_split:
                children = [shown[child.pk][0] for child in lines if child.parent_id == line.pk]
                if children:
                    status = rolled_up_status(children)
                    shown[line.pk] = (status, status)
    return shown


def destination_confirmations(lines: list[OrderLine], shown: dict[int, tuple[str, str]] | None = None) -> dict:
    """{line id: [(status, source time, hidden)]} of the facts that put each leaf line shown at its
    destination there or confirmed it there (applied or confirmed unchanged), in one query; no
    query when no line is there."""
    there = [
        line.pk
        for line in lines
        if not line.is_split and (shown[line.pk][0] if shown is not None else line.status) in AT_DESTINATION
    ]
    if not there:
        return {}
    confirmations: dict[int, list] = {}
    events = (
        StatusEvent.objects.filter(
            line_id__in=there,
            to_status__in=AT_DESTINATION,
            outcome__in=[EventOutcome.APPLIED, EventOutcome.UNCHANGED],
        )
        .annotate(hidden=Exists(EventSuppression.objects.filter(event=OuterRef("pk"))))
        .values_list("line_id", "to_status", "occurred_at", "hidden")
    )
    for line_id, status, occurred_at, hidden in events:
        confirmations.setdefault(line_id, []).append((status, occurred_at, hidden))
    return confirmations


def arrival_time(decided: datetime | None, status: str, confirmations) -> datetime | None:
    """When a leaf line reached its destination as its viewers may see it: the source's time the
    decision keeps behind its status (the earliest fact confirming it, whatever order the facts
    came in), unless only hidden facts bear that time; then the earliest visible one."""
    times = [(occurred_at, hidden) for to_status, occurred_at, hidden in confirmations if to_status == status]
    if not times or (decided, False) in times:
        return decided
    return min((occurred_at for occurred_at, hidden in times if not hidden), default=None)


def _arrival_times(
    lines: list[OrderLine],
    shown: dict[int, tuple[str, str]],
    visible: list[StatusEvent],
    confirmations: dict,
) -> dict[int, datetime | None]:
    """{line id: when it reached its destination} of the lines shown there (delivered, or
    verified on site): arrival_time. A line
    whose last change is hidden from this audience shows the time of the last visible change
    that put it there. A split line arrived with the last of its children."""
    last_visible: dict[int, StatusEvent] = {}
    for event in sorted(visible, key=lambda event: event.sequence):
        if event_kind(event) in TIMELINE_KINDS:
            last_visible[event.line_id] = event
    children: dict[int, list[int]] = {}
    for line in lines:
        if line.parent_id is not None:
            children.setdefault(line.parent_id, []).append(line.pk)
    arrived: dict[int, datetime | None] = {}
    for line in reversed(lines):  # children sort after their parents: each is known before its parent
        status = shown[line.pk][0]
        if status not in AT_DESTINATION:
            continue
        if line.is_split:
            times = [arrived.get(child) for child in children.get(line.pk, [])]
            arrived[line.pk] = max((time for time in times if time is not None), default=None)
        elif status == line.status:
            arrived[line.pk] = arrival_time(line.status_occurred_at, status, confirmations.get(line.pk, ()))
        else:
            event = last_visible.get(line.pk)
            arrived[line.pk] = event.occurred_at if event is not None and event.to_status == status else None
    return arrived


def shown_eta(*, planned, carrier, status: str, progress_status: str, is_split: bool):
    """The ETA a line shows, on every page that shows one: none once it is at its destination
    (it shows when it arrived) or will not come (cancelled, returned); once the part is with the
    carrier, the carrier's ETA where there is one; else the planned."""
    if status in AT_DESTINATION or status in NOT_COMING:
        return None
    if carrier is not None and not is_split and RANK.get(progress_status, -1) >= SHIPPED_RANK:
        return carrier
    return planned


def carrier_etas(*, order_ids: list[int] | None = None, line_ids: list[int] | None = None) -> dict[int, datetime]:
    """{line id: the carrier's ETA} of the lines of `order_ids` or the lines `line_ids`, by the
    rule of _carrier_etas (the newest shipment with an ETA carrying the line), in one query."""
    if order_ids is None and line_ids is None:
        raise TypeError("carrier_etas() needs order_ids or line_ids")
    items = ShipmentLine.objects.filter(shipment__eta__isnull=False)
    if order_ids is not None:
        items = items.filter(shipment__order_id__in=order_ids)
    if line_ids is not None:
        items = items.filter(line_id__in=line_ids)
    # Oldest first, as _carrier_etas reads them: the newest shipment's ETA is the one kept.
    return dict(
        items.order_by("shipment__created_at", "shipment_id", "line_id").values_list("line_id", "shipment__eta")
    )


def _carrier_etas(shipments: list[Shipment]) -> dict[int, object]:
    """{line id: the carrier's ETA} of the newest shipment with an ETA carrying the line."""
    etas = {}
    for shipment in shipments:  # oldest first: a newer shipment's ETA wins
        if shipment.eta is not None:
            for item in shipment.lines.all():
                etas[item.line_id] = shipment.eta
    return etas


def _line_part(
    line: OrderLine,
    by_id: dict[int, OrderLine],
    shown: tuple[str, str],
    carrier_eta,
    arrived_at,
    *,
    technician: bool,
) -> dict:
    depth, parent = 0, line.parent_id
    while parent is not None:
        depth, parent = depth + 1, by_id[parent].parent_id
    status, progress_status = shown
    shipped = RANK.get(progress_status, -1) >= SHIPPED_RANK
    eta = shown_eta(
        planned=line.eta, carrier=carrier_eta, status=status, progress_status=progress_status, is_split=line.is_split
    )
    part = {
        "public_id": str(line.public_id),
        "number": line.number,
        "parent": str(by_id[line.parent_id].public_id) if line.parent_id else None,
        "depth": depth,
        "part_number": line.part.number,
        "part_description": line.part.description,
        "quantity": line.quantity,
        "status": customer_status(status),
        "eta": _iso(eta),
        # When it reached its destination (source clock); only for a line shown there.
        "delivered_at": _iso(arrived_at),
        "is_split": line.is_split,
        "delivered_quantity": line.quantity if status in AT_DESTINATION and not line.is_split else 0,
        # The line's share of the way to the customer (%), and whether it has left the site:
        # what the header's progress and the summary are computed from.
        "progress": round(PROGRESS_WEIGHT.get(progress_status, 0.0) * 100, 2),
        "shipped": shipped,
    }
    if technician:
        part.update(
            site=line.site.name if line.site else "",
            carrier=line.carrier,
            carrier_display=carrier_display(line.carrier),
            tracking_number=line.tracking_number,
        )
    return part


def tracking_url(carrier: str, tracking_number: str) -> str:
    """The carrier's public tracking page for the number (settings.CARRIER_TRACKING_URLS, "{number}"
    standing for it), or "" where none is configured."""
    template = settings.CARRIER_TRACKING_URLS.get(carrier.upper()) if carrier and tracking_number else None
    return template.replace("{number}", quote(tracking_number, safe="")) if template else ""


def _shipment_part(
    shipment: Shipment,
    by_id: dict[int, OrderLine],
    statuses: dict[int, str],
    arrived: dict[int, datetime | None],
    *,
    technician: bool,
) -> dict:
    """A shipment as its order's page shows it. Once every line it carries is shown at its
    destination it is delivered: no ETA, but when its last part arrived (delivered_at)."""
    carried = [(by_id[item.line_id], item.quantity) for item in shipment.lines.all() if item.line_id in by_id]
    there = [line for line, _quantity in carried if statuses[line.pk] in AT_DESTINATION]
    delivered = bool(carried) and len(there) == len(carried)
    arrivals = [arrived[line.pk] for line in there if arrived.get(line.pk) is not None]
    part = {
        "public_id": str(shipment.public_id),
        "carrier": shipment.carrier,
        "carrier_display": carrier_display(shipment.carrier),
        "tracking_number": shipment.tracking_number,
        "tracking_url": tracking_url(shipment.carrier, shipment.tracking_number),
        "eta": None if delivered else _iso(shipment.eta),
        "delivered_at": _iso(max(arrivals)) if delivered and arrivals else None,
        "last_location": shipment.last_location,
        "last_location_at": _iso(shipment.last_location_at),
        "quantity": sum(quantity for _line, quantity in carried),
        "delivered_quantity": sum(quantity for line, quantity in carried if statuses[line.pk] in AT_DESTINATION),
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
