"""Reads of the portal: search within the viewer's scope, list rows, technicians' incoming parts."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.db.models.lookups import EndsWith, Exact, StartsWith
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import (
    Account,
    EventSuppression,
    LineReference,
    Order,
    OrderLine,
    Part,
    Shipment,
    ShipmentLine,
)
from orders.prepared import prepared_cursor
from orders.read_models import Audience, order_view, with_view_version
from orders.read_models.build import (
    AT_DESTINATION,
    arrival_time,
    carrier_etas,
    destination_confirmations,
    shown_eta,
)
from orders.read_models.cache import aware
from orders.read_models.header import leaves_expected
from orders.scoping import (
    accounts_followed_by,
    followed_accounts_with,
    lines_for_technician,
    orders_visible_to_customer,
)
from orders.search_keys import search_key, search_text
from orders.status import INTERRUPTIONS, RANK, LineStatus, customer_status
from portal.brand_stamp import brand_stamp_sql
from portal.models import LINK_ALLOWS, LINK_FOR_WHOM, LinkAudience, LinkState, StatusLink

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


# Shorter queries are matched whole only: "47" would match half the orders by their ends.
PARTIAL_MIN = 3


def _matches(field: str, key: str, *, partial: bool = True) -> Q:
    """`field` (normalized) is `key`; or, `partial`, begins or ends with it ("4711" for
    SO-DEMO-4711): only for columns of the viewer's orders, which the scope has narrowed."""
    expression = search_key(field)
    if not partial or len(key) < PARTIAL_MIN:
        return Q(Exact(expression, key))
    return Q(StartsWith(expression, key)) | Q(EndsWith(expression, key))


def portal_orders(user, *, query: str = "", account: str = "") -> QuerySet[Order]:
    """The person's orders, newest change first; `query` finds an order number or the customer's
    reference (whole, or by its beginning or end: "4711", "88123"), an asset serial number, a
    part number, a line's PO or a shipment's tracking number (whole), or (part of) the account's
    name; always without regard to dashes, spaces or case. Only the person's orders are searched
    (the scope is applied first): a number alone never reveals another account's order. Part,
    line reference and tracking numbers are looked up by their indexed search keys
    (orders.search_keys), never by scanning their tables."""
    orders = orders_visible_to_customer(user).select_related("account", "asset").order_by("-updated_at", "-id")
    if account:
        orders = orders.filter(account__number=account)
    key = search_text(query)
    if not key:
        return orders
    # Whole values of the large tables, by their indexed search key.
    with_part = OrderLine.objects.filter(
        order=OuterRef("pk"), part__in=Part.objects.filter(_matches("number", key, partial=False))
    )
    with_po = LineReference.objects.filter(
        Q(line__order=OuterRef("pk"), kind=LineReference.Kind.PURCHASE_ORDER) & _matches("value", key, partial=False)
    )
    with_tracking = Shipment.objects.filter(Q(order=OuterRef("pk")) & _matches("tracking_number", key, partial=False))
    return orders.filter(
        _matches("number", key)
        | _matches("customer_reference", key)
        | _matches("asset__serial_number", key)
        | Exists(with_part)
        | Exists(with_po)
        | Exists(with_tracking)
        | (Q(account__name__icontains=query.strip()) if len(key) >= PARTIAL_MIN else Q(pk__in=[]))
    )


@dataclass(frozen=True)
class SeenOrder:
    """What the portal's order page needs of an order the person sees, read by its scope check:
    enough for the cached page's key (orders.read_models.cache.view_version reads
    outbox_sequence and shipments_changed_at); the whole order is read only to render."""

    pk: int
    public_id: UUID
    account_id: int
    outbox_sequence: int
    shipments_changed_at: datetime | None
    updated_at: datetime
    view_changed_at: datetime | None
    dealer_view: bool  # the person reads it as a dealer (their customers' references)
    links_stamp: str  # what the page's list of links shows (_links_stamp_sql)
    links_count: int  # how many links the list holds, on every page of it
    brand_stamp: str  # what decides the page's brand (portal.branding.brand_stamp_sql)

    def order(self) -> Order:
        """The whole order, with its view's version and the dealer flag as the page shows them."""
        order = order_with_version(self.pk)
        order.dealer_view = self.dealer_view
        return order


def portal_order_seen(user, public_id) -> SeenOrder | None:
    """The order of `public_id` if the person sees it in the portal (else None). One query
    written out: this is every portal order page's scope check."""
    try:
        public_id = UUID(str(public_id))
    except ValueError:
        return None
    followed, followed_params = followed_accounts_with(user)
    stamp, stamp_params = _links_stamp_sql(timezone.now())
    orders, shipments = Order._meta.db_table, Shipment._meta.db_table
    sql = (
        f"{followed} SELECT o.id, o.public_id, o.account_id, o.outbox_sequence, o.updated_at, o.view_changed_at, "
        f"(SELECT MAX(s.updated_at) FROM {shipments} s WHERE s.order_id = o.id), "
        "EXISTS (SELECT 1 FROM scope_followed f WHERE f.kind = %s), "
        f"{stamp}, {_links_count_sql()}, {brand_stamp_sql('o.account_id')} "
        f"FROM {orders} o WHERE o.public_id = %s AND o.account_id IN (SELECT id FROM scope_followed)"
    )
    public_id_value = Order._meta.get_field("public_id").get_db_prep_value(public_id, connection)
    params = [
        *followed_params,
        Account.Kind.DEALER.value,
        *stamp_params,
        LinkAudience.CUSTOMER.value,
        public_id_value,
    ]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (
        pk,
        found_public_id,
        account_id,
        sequence,
        saved,
        views_changed,
        changed,
        dealer_view,
        links_stamp,
        links_count,
        brand_stamp,
    ) = row
    return SeenOrder(
        pk=pk,
        public_id=UUID(str(found_public_id)),
        account_id=account_id,
        outbox_sequence=sequence,
        shipments_changed_at=aware(changed),
        updated_at=aware(saved),
        view_changed_at=aware(views_changed),
        dealer_view=bool(dealer_view),
        links_stamp=links_stamp or "",
        links_count=links_count,
        brand_stamp=brand_stamp,
    )


def portal_order(user, public_id) -> Order | None:
    """The whole order of `public_id` if the person sees it in the portal (else None), with its
    view's version and the dealer flag (dealer_view)."""
    seen = portal_order_seen(user, public_id)
    return seen.order() if seen is not None else None


def order_with_version(order_id: int) -> Order:
    """The whole order with its view's version (a page being rendered: its scope was checked)."""
    return with_view_version(Order.objects.filter(pk=order_id)).get()


# The order page lists an order's customer links, newest first, this many a page.
LINKS_PAGE_SIZE = 20


def customer_links(order_id: int) -> QuerySet[StatusLink]:
    """An order's customer links (a technician's links are the back office's to manage), as
    links_listed orders them."""
    return links_listed(StatusLink.objects.filter(order_id=order_id, audience=LinkAudience.CUSTOMER))


def links_listed(links: QuerySet[StatusLink]) -> QuerySet[StatusLink]:
    """Links as a table lists them: newest first, a replaced link right after the link that
    replaced it (its successor's public id beside it, as successor_public_id)."""
    return links.annotate(
        listed_at=Coalesce(F("replaced_by__issued_at"), F("issued_at")),
        successor_public_id=F("replaced_by__public_id"),
    ).order_by("-listed_at", "-issued_at", "-id")


def links_pages(links_count: int) -> int:
    return max(1, -(-links_count // LINKS_PAGE_SIZE))


@dataclass(frozen=True)
class LinkRow:
    """A status link as the portal's table says it, in a customer's words."""

    link: StatusLink
    state: LinkState
    for_whom: str
    made_by: str
    allows: str
    shows: str
    successor_public_id: UUID | None = None  # the link that replaced it


def customer_link_rows(order_id: int, *, page: int, viewer_id: int, now: datetime) -> list[LinkRow]:
    """Page `page` (from 1) of the order's customer links (customer_links), each said as the
    portal's table says it to the person `viewer_id`: one query."""
    start = (page - 1) * LINKS_PAGE_SIZE
    links = customer_links(order_id).select_related("line").annotate(issued_by_service_team=_issued_by_service_team())
    return [customer_link_row(link, viewer_id=viewer_id, now=now) for link in links[start : start + LINKS_PAGE_SIZE]]


def customer_link(public_id) -> StatusLink | None:
    """A customer link with what customer_link_row says of it (whatever its order: the caller
    checks the person sees it)."""
    return (
        StatusLink.objects.filter(public_id=public_id, audience=LinkAudience.CUSTOMER)
        .select_related("order", "line")
        .annotate(issued_by_service_team=_issued_by_service_team(), successor_public_id=F("replaced_by__public_id"))
        .first()
    )


def customer_link_row(link: StatusLink, *, viewer_id: int, now: datetime) -> LinkRow:
    """The link (with issued_by_service_team and successor_public_id) as the portal says it to `viewer_id`."""
    return LinkRow(
        link=link,
        state=link.state(now),
        for_whom=_for_whom(link),
        made_by=_made_by(link, viewer_id),
        allows=LINK_ALLOWS[link.purpose],
        shows=(_("Line %(number)s only") % {"number": link.line.number} if link.line else _("The whole order")),
        successor_public_id=link.successor_public_id,
    )


def _for_whom(link: StatusLink) -> str:
    # The addresses are kept masked (portal.services.links.status_link_sent_record).
    email, phone = link.sent_by_email_to, link.sent_by_sms_to
    if phone and link.sms_undelivered:
        # The phone does not have it: the row never claims it went there.
        if email:
            return _("Sent by email to the contact on file (%(address)s); the SMS to %(number)s was not delivered") % {
                "address": email,
                "number": phone,
            }
        return _("The SMS to the contact on file (%(number)s) was not delivered") % {"number": phone}
    if email and phone:
        return _("Sent by email and SMS to the contact on file (%(address)s, %(number)s)") % {
            "address": email,
            "number": phone,
        }
    if email:
        return _("Sent by email to the contact on file (%(address)s)") % {"address": email}
    if phone:
        return _("Sent by SMS to the contact on file (%(number)s)") % {"number": phone}
    return LINK_FOR_WHOM[link.audience]


def _issued_by_service_team():
    """Whether the link's maker works for the service organisation: a back-office role (the
    permission that opens the back office, as portal.doors says), a superuser, or staff (the
    admin's configuration people). A customer's or dealer's people have none of these."""
    back_office = Permission.objects.filter(content_type__app_label="orders", codename="view_order")
    maker = OuterRef("issued_by_id")
    return (
        Q(issued_by__is_staff=True)
        | Q(issued_by__is_superuser=True)
        | Exists(back_office.filter(user=maker))
        | Exists(back_office.filter(group__user=maker))
    )


def _made_by(link: StatusLink, viewer_id: int) -> str:
    # Never a name: a link made by the service team must not show who they are. A planner who
    # replaced a link made it anew: it is still the service team's, not a colleague's.
    if link.issued_by_id == viewer_id:
        return _("Made by you")
    if link.sent_by_our_messages():
        return _("Made by our automatic messages")
    if link.issued_by_id is None or link.issued_by_service_team:
        return _("Sent by our service team")
    return _("Made by someone else")


def _links_stamp_sql(now: datetime) -> tuple[str, tuple]:
    """A column of the order's query: what its page's list of links shows of each link
    (customer_link_rows), so that a new, revoked, replaced or opened link, an expiry edited, a
    link our messages sent again, or a link expired since `now`, makes another stamp (and another cached page)."""
    links = StatusLink._meta.db_table
    fields = (
        "l.line_id",
        "l.issued_by_id",
        "l.revoked_at",
        "l.replaced_by_id",
        "l.expires_at",
        "l.expiry_changed_at",
        "l.sent_by_email_to",
        "l.sent_by_sms_to",
        "l.sms_undelivered",
        "l.last_opened_at",
    )
    expired = "CASE WHEN l.expires_at <= %s THEN 'expired' ELSE 'active' END"
    row = " || ':' || ".join(
        ["CAST(l.id AS text)", *(f"COALESCE(CAST({field} AS text), '-')" for field in fields), expired]
    )
    # The same rows in the same order on each engine: PostgreSQL's aggregate, or SQLite's.
    aggregate = "string_agg({}, ',' ORDER BY l.id)" if connection.vendor == "postgresql" else "group_concat({}, ',')"
    rows = aggregate.format(row)
    sql = f"(SELECT {rows} FROM {links} l WHERE l.order_id = o.id AND l.audience = %s)"
    now_value = StatusLink._meta.get_field("expires_at").get_db_prep_value(now, connection)
    return sql, (now_value, LinkAudience.CUSTOMER.value)


def _links_count_sql() -> str:
    """A column of the order's query: how many links its page's list holds (one parameter: the
    customer audience)."""
    links = StatusLink._meta.db_table
    return f"(SELECT COUNT(*) FROM {links} l WHERE l.order_id = o.id AND l.audience = %s)"


def follows_a_dealer(user) -> bool:
    """A dealer person: their orders are their customers', whose references are not theirs."""
    return accounts_followed_by(user).filter(kind=Account.Kind.DEALER).exists()


def portal_accounts(user) -> list[Account]:
    """The customer accounts whose orders a dealer person sees (several: the list names each
    order's account and may be filtered by one); [] for a person of one customer."""
    if not follows_a_dealer(user):
        return []
    followed = accounts_followed_by(user)
    return list(followed.exclude(kind=Account.Kind.DEALER).order_by("name").only("number", "name"))


def order_rows(orders: list[Order]) -> dict[int, dict]:
    """What a list row says beside the order, for a page of orders in two queries: {"counts"}
    for the summary and {"expected"} when its parts are, by the rules of its page's header
    (orders.read_models.header.leaves_expected, with the ETAs its lines show)."""
    order_ids = [order.pk for order in orders]
    carriers = carrier_etas(order_ids=order_ids)
    leaves, shown = defaultdict(list), defaultdict(list)
    for line_id, order_id, status, before, eta in OrderLine.objects.filter(
        order_id__in=order_ids, is_split=False
    ).values_list("id", "order_id", "status", "status_before_interruption", "eta"):
        leaves[order_id].append((status, before or status))
        eta = shown_eta(
            planned=eta,
            carrier=carriers.get(line_id),
            status=status,
            progress_status=before or status,
            is_split=False,
        )
        shown[order_id].append({"status": customer_status(status), "eta": eta.isoformat() if eta else None})
    return {
        order.pk: {"counts": _counts(leaves[order.pk]), "expected": leaves_expected(shown[order.pk])}
        for order in orders
    }


def _counts(leaves: list[tuple[str, str]]) -> dict:
    """The summary's counts of an order's leaf lines, (status, path status) each."""
    active = [(status, path) for status, path in leaves if status != LineStatus.CANCELLED]
    shipped = [item for item in active if RANK.get(item[1], -1) >= SHIPPED_RANK]
    # A hold or an exception shows on a shipped line too (orders.read_models.header.lines_counts).
    waiting = Counter(
        customer_status(status) for status, path in active if (status, path) not in shipped or status in INTERRUPTIONS
    )
    return {"total": len(active), "shipped": len(shipped), "waiting": dict(sorted(waiting.items()))}


def views_with_hidden_changes(orders: list[Order], *, audience: str = Audience.CUSTOMER) -> dict[int, dict]:
    """{order id: view} of the orders with a status change hidden from customers (rare): their
    list row shows what their page shows. One query finds them with their views' versions; each
    view is then read from the cache their page reads (orders.read_models.order_view): one cache
    hit an order once built, however many the list holds."""
    hidden = with_view_version(
        Order.objects.filter(
            Exists(EventSuppression.objects.filter(event__order_id=OuterRef("pk"))),
            pk__in=[order.pk for order in orders],
        )
    )
    return {order.pk: order_view(order, audience=audience) for order in hidden}


@dataclass(frozen=True)
class IncomingPart:
    """A technician's incoming part as its order's page shows the line (orders.read_models)."""

    line: OrderLine
    status: str  # the customer status the page shows
    eta: datetime | None  # the ETA the page shows (build.shown_eta)
    delivered_at: datetime | None  # when it reached its destination, for a part there
    shipment: Shipment | None  # the newest shipment carrying it

    @property
    def arrived(self) -> bool:
        return self.status in AT_DESTINATION


def incoming_parts(user) -> list[IncomingPart]:
    """The technician's incoming parts: leaf lines of their jobs their order's page does not show
    cancelled, soonest first, each with the status, ETA and arrival that page shows, in a fixed
    number of queries (and one cached view per order with a change hidden from customers, as that
    page shows it: a line whose cancellation is hidden shows the status it had before)."""
    shipments = ShipmentLine.objects.select_related("shipment").order_by("-shipment__updated_at")
    # A cancelled line with a hidden change may show another status: its order's view decides.
    hidden = EventSuppression.objects.filter(event__line_id=OuterRef("pk"))
    lines = list(
        lines_for_technician(user)
        .filter(~Q(status=LineStatus.CANCELLED) | Exists(hidden), is_split=False)
        .select_related("order", "part", "site", "order__asset")
        .prefetch_related(Prefetch("shipment_lines", queryset=shipments))
    )
    carriers = carrier_etas(line_ids=[line.pk for line in lines])
    arrived = arrival_times(lines)
    orders = list({line.order_id: line.order for line in lines}.values())
    shown = {
        line["public_id"]: line
        for view in views_with_hidden_changes(orders, audience=Audience.TECHNICIAN).values()
        for line in view["lines"]
    }
    parts = []
    for line in lines:
        if str(line.public_id) in shown:
            viewed = shown[str(line.public_id)]
            status, eta, delivered_at = viewed["status"], _datetime(viewed["eta"]), _datetime(viewed["delivered_at"])
        else:
            status, delivered_at = customer_status(line.status), arrived.get(line.pk)
            eta = shown_eta(
                planned=line.eta,
                carrier=carriers.get(line.pk),
                status=line.status,
                progress_status=line.progress_status,
                is_split=False,
            )
        if status == customer_status(LineStatus.CANCELLED):
            continue
        shipment = next((item.shipment for item in line.shipment_lines.all()), None)
        parts.append(IncomingPart(line=line, status=status, eta=eta, delivered_at=delivered_at, shipment=shipment))
    return sorted(
        parts, key=lambda part: (part.status == LineStatus.VERIFIED, part.eta is None, part.eta, part.line.pk)
    )


def _datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def arrival_times(lines: list[OrderLine]) -> dict[int, datetime | None]:
    """{line id: when it reached its destination} of the leaf lines there (delivered or verified
    on site), in one query: the time their order's page shows (orders.read_models.build)."""
    confirmations = destination_confirmations(lines)
    return {
        line.pk: arrival_time(line.status_occurred_at, line.status, confirmations.get(line.pk, ()))
        for line in lines
        if line.status in AT_DESTINATION and not line.is_split
    }
