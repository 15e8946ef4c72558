"""What a message says, read from the order as it is when the message is sent (a message held
or throttled shows the latest state, never a stale one)."""

import zoneinfo
from datetime import datetime

from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import ngettext

from notifications.links import links_for_one_message, links_previewed, status_link_url
from notifications.models import EventKind, Notification
from orders.models import ContactRole, Order, OrderContact, OrderLine, StatusDefinition
from orders.read_models.build import carrier_etas, shown_eta
from orders.status import CUSTOMER_DEFAULTS, LineStatus, customer_status
from overrides.texts import discrepancy_summary_text

# The variables a template may name (shown next to the template in the admin).
TEMPLATE_VARIABLES = (
    "recipient_name",
    "order_number",
    "customer_reference",
    "status_link",
    "line_number",
    "part_number",
    "part_description",
    "quantity",
    "status",
    "eta",
    "site_name",
    "previous_status",
    "previous_eta",
    "alert_level",
    "discrepancy_summary",
    "window_name",
    "items_text",
    "items_count_text",
)


def message_context(notification: Notification, *, folded: list[OrderLine] | None = None) -> dict:
    """The template variables of `notification`, in its locale and time zone (`folded`: the
    lines of a digest or summary, else those of the notifications folded into it)."""
    with translation.override(language_of(notification.locale)), links_for_one_message():
        return _context(notification, folded)


def _context(notification: Notification, folded: list[OrderLine] | None) -> dict:
    zone = _zone(notification.time_zone)
    customer = notification.role in ("", ContactRole.REQUESTER)
    labels = StatusLabels(customer=customer)
    context = {
        "recipient_name": notification.recipient_name,
        "window_name": notification.held_by.name if notification.held_by_id else "",
        "alert_level": notification.facts.get("level", ""),
        # Written out in the recipient's language (the context is built with it active).
        "discrepancy_summary": discrepancy_summary_text(
            notification.facts.get("summary_code", ""),
            notification.facts.get("summary_params") or {},
            notification.facts.get("summary", ""),
        ),
        "previous_status": labels.of(notification.facts.get("from_status", "")),
        "previous_eta": moment_text(_parse(notification.facts.get("previous_eta")), zone),
    }
    if notification.order_id:
        context.update(order_context(notification.order, notification.contact))
    folded = _folded_lines(notification) if folded is None else folded
    # The carriers' ETAs of the lines named, in one query: a message gives the ETA the
    # customer's page shows (orders.read_models.build.shown_eta).
    named = [line.pk for line in folded if line.pk] + ([notification.line_id] if notification.line_id else [])
    carriers = carrier_etas(line_ids=named) if named else {}
    if notification.line_id:
        line = notification.line
        context.update(line_context(line, labels=labels, zone=zone, carrier_eta=carriers.get(line.pk)))
    if folded:
        contacts = _contacts_by_order(notification)
        items = [
            {
                **order_context(line.order, contacts.get(line.order_id, notification.contact)),
                **line_context(line, labels=labels, zone=zone, carrier_eta=carriers.get(line.pk)),
            }
            for line in folded
        ]
        context["items"] = items
        context["items_count"] = len(items)
        context["items_count_text"] = ngettext("%(count)d order line", "%(count)d order lines", len(items)) % {
            "count": len(items)
        }
        separator = "; " if notification.channel == "sms" else "\n"
        context["items_text"] = separator.join(
            item_line(item, with_link=notification.channel != "sms") for item in items
        )
        if not notification.order_id:
            context.update(order_context(_newest_order(notification, folded), notification.contact))
    return context


def preview_context(*, order: Order, kind: str, channel: str, locale: str) -> dict:
    """The variables of a message about `order` as its requester (else its first contact) would
    get it in `locale`: the admin's preview on a real order."""
    from django.utils.translation import gettext

    contacts = list(order.contacts.order_by("role", "pk"))
    contact = next((c for c in contacts if c.role == ContactRole.REQUESTER), contacts[0] if contacts else None)
    leaves = list(order.lines.filter(is_split=False).select_related("order", "part", "site").order_by("number"))
    notification = Notification(
        kind=kind,
        channel=channel,
        order=order,
        line=leaves[0] if leaves else None,
        contact=contact,
        role=contact.role if contact else ContactRole.REQUESTER,
        recipient_name=contact.name if contact else gettext("Sample recipient"),
        locale=locale,
        time_zone=(contact.time_zone if contact else "") or "UTC",
        facts={"from_status": LineStatus.RELEASED, "level": 2, "summary": gettext("Sample discrepancy")},
    )
    batch = kind in (EventKind.DIGEST, EventKind.MAINTENANCE_SUMMARY)
    with links_previewed():
        return message_context(notification, folded=leaves if batch else [])


def order_context(order: Order, contact: OrderContact | None) -> dict:
    return {
        "order_number": order.number,
        "customer_reference": order.customer_reference,
        "status_link": status_link_url(order=order, contact=contact),
    }


def line_context(line: OrderLine, *, labels: "StatusLabels", zone, carrier_eta=None) -> dict:
    eta = shown_eta(
        planned=line.eta,
        carrier=carrier_eta,
        status=line.status,
        progress_status=line.status_before_interruption or line.status,
        is_split=line.is_split,
    )
    return {
        "line_number": line.number,
        "part_number": line.part.number,
        "part_description": line.part.description,
        "quantity": line.quantity,
        "status": labels.of(line.status),
        "eta": moment_text(eta, zone) if eta is not None and line.status not in ARRIVED else "",
        "site_name": line.site.name if line.site_id else "",
    }


ARRIVED = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED, LineStatus.CANCELLED, LineStatus.RETURNED})


def item_line(item: dict, *, with_link: bool) -> str:
    text = f"{item['order_number']}/{item['line_number']} {item['part_description']}: {item['status']}"
    if item.get("eta"):
        text += f" ({item['eta']})"
    if with_link:
        text = f"- {text} {item['status_link']}"
    return text


class StatusLabels:
    """Status names in the active language: customers see the customer-facing labels (the
    database's, else the shipped ones), internal recipients the canonical names."""

    def __init__(self, *, customer: bool):
        self.customer = customer
        self._definitions: dict[str, StatusDefinition] | None = None

    def of(self, status: str) -> str:
        if not status:
            return ""
        if not self.customer:
            return str(LineStatus(status).label) if status in LineStatus.values else status
        shown = customer_status(status)
        if self._definitions is None:
            self._definitions = {definition.code: definition for definition in StatusDefinition.objects.all()}
        definition = self._definitions.get(shown)
        if definition is not None and definition.customer_label:
            return definition.customer_label
        return str(CUSTOMER_DEFAULTS[shown][0]) if shown in CUSTOMER_DEFAULTS else shown


def moment_text(moment: datetime | None, zone) -> str:
    """A date and time in the recipient's zone and the active language's format, zone named."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, zone)
    return f"{formats.date_format(local, 'SHORT_DATETIME_FORMAT')} {local.tzname()}"


def _zone(name: str):
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _parse(value) -> datetime | None:
    return parse_datetime(value) if value else None


def _contacts_by_order(notification: Notification) -> dict[int, OrderContact | None]:
    """Whom a batch's messages about each order were for (an order contact belongs to one order):
    each order's link in the batch is that contact's own, the one their other messages about the
    order carry, never a second one made for the contact of another order."""
    if notification.pk is None:
        return {}
    folded = Notification.objects.filter(folded_into=notification).select_related("contact").order_by("pk")
    return {item.order_id: item.contact for item in folded}


def _newest_order(notification: Notification, folded: list[OrderLine]) -> Order:
    """The order a batch about several orders links to (an SMS has room for one link): that of
    its newest change, whose contact the batch carries, so the link is that contact's own (one
    per recipient and order, reused). Without such a contact: the first order listed."""
    contact = notification.contact
    if contact is not None and any(line.order_id == contact.order_id for line in folded):
        return contact.order
    return folded[0].order


def _folded_lines(notification: Notification) -> list[OrderLine]:
    """The distinct lines a digest or summary covers, or a throttled message that a burst on
    several lines of its order was folded into (one line alone: the message's own)."""
    batch = notification.kind in (EventKind.DIGEST, EventKind.MAINTENANCE_SUMMARY)
    if notification.pk is None:
        return []
    line_ids = set(
        Notification.objects.filter(folded_into=notification, line__isnull=False).values_list("line_id", flat=True)
    )
    if notification.line_id:
        line_ids.add(notification.line_id)
    if not batch and len(line_ids) < 2:
        return []
    return list(
        OrderLine.objects.filter(pk__in=line_ids)
        .select_related("order", "part", "site")
        .order_by("order__number", "number")
    )


def language_of(locale: str) -> str:
    """The Django language to render in: fr-ca and fr-ch render with the fr catalogue."""
    try:
        return translation.get_supported_language_variant(locale or "en", strict=False)
    except LookupError:
        return "en"
