"""Creating and updating orders and lines from source systems (order upserts).

Order numbers belong to their issuer, the source system that sends the upsert; references are
(issuer, kind, value): a purchase order is the account's, every other number the source's
unless the message names its issuer. New lines start on the source clock: at the order's source
creation time when the message gives one, else with no status time at all. Locks: the order
first, then its lines by id, the one lock order of the core.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Account, Asset, Issuer, LineReference, Order, OrderLine, Part, Region, Site
from orders.publication import Topic
from orders.services.contacts import ContactData, contacts_checked, order_contacts_replace
from orders.services.events import Actor, Provenance, line_start_record
from orders.services.outbox import outbox_publish
from orders.services.rollup import order_rollup_refresh


@dataclass(frozen=True)
class LineData:
    number: str
    part_number: str
    quantity: int
    part_description: str = ""
    criticality: str = ""
    site_code: str = ""
    eta: datetime | None = None
    # (kind, value) or (kind, value, issuer); without an issuer see _reference_issuer.
    references: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class OrderData:
    number: str
    account_number: str
    account_name: str = ""
    region_code: str = ""
    priority: str = ""
    ship_policy: str = ""
    customer_reference: str = ""
    requested_date: date | None = None
    promised_date: date | None = None
    asset_serial_number: str = ""
    is_test: bool = False
    lines: tuple[LineData, ...] = ()
    created_at: datetime | None = None  # when the source created the order, on its clock
    # The order's people by role (requester, technician, planner): those of the roles named here
    # replace the order's contacts of those roles; empty: the contacts stay as they are.
    contacts: tuple[ContactData, ...] = ()


def order_upsert(*, data: OrderData, actor: Actor, provenance: Provenance) -> Order:
    """Create the order and the lines it does not have yet; update what a source may change
    (dates, priority, sites, ETAs, references, the contacts of the roles it names). Statuses never
    change here. The order number is looked up under its issuer, the source of the message
    (`provenance.source_system`). Bad contact data refuses the whole upsert, naming the field."""
    issuer = provenance.source_system
    if data.created_at is not None and timezone.is_naive(data.created_at):
        raise ValidationError({"created_at": _("The order's creation time needs a time zone.")})
    contacts = contacts_checked(data.contacts)
    with transaction.atomic():
        account = _account(data)
        order = Order.objects.select_for_update().filter(issuer=issuer, number=data.number).first()
        if order is None and issuer:
            # An order stored before numbers had issuers (blank): the first source to send it owns it.
            order = Order.objects.select_for_update().filter(issuer="", number=data.number).first()
            if order is not None:
                order.issuer = issuer
        if order is None:
            order = Order(
                issuer=issuer,
                number=data.number,
                account=account,
                region=_region(data.region_code) or account.region,
            )
        elif order.account_id != account.pk:
            raise ValidationError(
                {"account": _("Order %(order)s belongs to another account.") % {"order": order.number}}
            )
        for name in ("priority", "ship_policy", "customer_reference", "requested_date", "promised_date"):
            if getattr(data, name):
                setattr(order, name, getattr(data, name))
        order.is_test = order.is_test or data.is_test
        if data.asset_serial_number:
            order.asset = _asset(data.asset_serial_number, account)
        order.full_clean(exclude=["account", "region", "asset"], validate_unique=False)
        order.save()
        if contacts:
            order_contacts_replace(order=order, contacts=contacts)
        # The order is locked: now its lines, by id (the lock order everywhere).
        existing = {
            line.number: line
            for line in OrderLine.objects.select_for_update().filter(order=order).select_related("part").order_by("pk")
        }
        for line_data in data.lines:
            line = existing.get(line_data.number)
            if line is None:
                _line_create(
                    order, line_data, account=account, created_at=data.created_at, actor=actor, provenance=provenance
                )
            else:
                _line_update(line, line_data, account=account, source_system=issuer)
        order = order_rollup_refresh(order_id=order.pk)
        outbox_publish(
            topic=Topic.ORDER_UPSERTED,
            order=order,
            payload={"order_id": order.pk, "order_number": order.number, "lines": [line.number for line in data.lines]},
        )
        return order


def _account(data: OrderData) -> Account:
    account = Account.objects.filter(number=data.account_number).select_related("region").first()
    if account is not None:
        return account
    region = _region(data.region_code)
    if region is None or not data.account_name:
        raise ValidationError(
            {"account": _("Account %(account)s is new: give its name and region.") % {"account": data.account_number}}
        )
    return Account.objects.create(number=data.account_number, name=data.account_name, region=region, country="")


def _region(code: str) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise ValidationError({"region": _("Unknown region “%(region)s”.") % {"region": code}})
    return region


def _asset(serial_number: str, account: Account) -> Asset:
    asset = Asset.objects.filter(serial_number=serial_number, account=account).first()
    if asset is None:
        raise ValidationError({"asset": _("Unknown asset “%(asset)s” for this account.") % {"asset": serial_number}})
    return asset


def _site(code: str) -> Site | None:
    if not code:
        return None
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise ValidationError({"site": _("Unknown site “%(site)s”.") % {"site": code}})
    return site


def _part(data: LineData) -> Part:
    part, _created = Part.objects.get_or_create(
        number=data.part_number,
        defaults={
            "description": data.part_description or data.part_number,
            "category": "",
            "criticality": data.criticality or "C",
        },
    )
    return part


def _line_create(
    order: Order,
    data: LineData,
    *,
    account: Account,
    created_at: datetime | None,
    actor: Actor,
    provenance: Provenance,
) -> OrderLine:
    # The line's status time is the source's creation time or none: never our clock. Our clock
    # is only the receipt time of the start event (an event row needs a time; the line does not).
    line = OrderLine.objects.create(
        order=order,
        number=data.number,
        part=_part(data),
        quantity=data.quantity,
        site=_site(data.site_code),
        eta=data.eta,
        status_occurred_at=created_at,
        start_occurred_at=created_at,
        status_changed_at=timezone.now(),
    )
    LineReference.objects.bulk_create(
        _references(line, data, account=account, source_system=provenance.source_system, known=set())
    )
    line_start_record(line=line, occurred_at=created_at or timezone.now(), actor=actor, provenance=provenance)
    return line


def _line_update(line: OrderLine, data: LineData, *, account: Account, source_system: str) -> None:
    if data.part_number != line.part.number:
        raise ValidationError({"lines": _("Line %(line)s already exists with another part.") % {"line": line.number}})
    if data.quantity != line.quantity:
        if line.is_split or line.parent_id:
            raise ValidationError(
                {"lines": _("Line %(line)s is part of a split; its quantity cannot change.") % {"line": line.number}}
            )
        line.quantity = data.quantity
    if data.site_code:
        line.site = _site(data.site_code)
    previous_eta = line.eta
    if data.eta:
        line.eta = data.eta
    line.save(update_fields=["quantity", "site", "eta", "updated_at"])
    if previous_eta is not None and line.eta != previous_eta:
        outbox_publish(
            topic=Topic.LINE_ETA_CHANGED,
            order=line.order,
            payload={
                "order_id": line.order_id,
                "line_id": line.pk,
                "line_number": line.number,
                "previous_eta": previous_eta.isoformat(),
                "eta": line.eta.isoformat(),
                "source_system": source_system,
            },
        )
    known = set(line.references.values_list("issuer_kind", "issuer", "kind", "value"))
    LineReference.objects.bulk_create(
        _references(line, data, account=account, source_system=source_system, known=known)
    )


def _references(
    line: OrderLine, data: LineData, *, account: Account, source_system: str, known: set[tuple]
) -> list[LineReference]:
    references = {}
    for kind, value, *given in data.references:
        issuer_kind, issuer = _reference_issuer(
            kind, given[0] if given else "", account=account, source_system=source_system
        )
        identity = (issuer_kind, issuer, kind, value)
        if identity not in known:
            references[identity] = LineReference(
                line=line, issuer_kind=issuer_kind, issuer=issuer, kind=kind, value=value
            )
    return list(references.values())


def _reference_issuer(kind: str, given: str, *, account: Account, source_system: str) -> tuple[str, str]:
    """A purchase order is the account's own number (a message may not put it under another);
    any other number is the issuer's the message names (a carrier's SCAC, say), else the source's."""
    if kind == LineReference.Kind.PURCHASE_ORDER:
        if given and given != account.number:
            raise ValidationError(
                {
                    "references": _("Purchase order references are issued by the order's account %(account)s.")
                    % {"account": account.number}
                }
            )
        return Issuer.ACCOUNT, account.number
    if given and given != source_system:
        return Issuer.CARRIER, given
    return Issuer.SOURCE, source_system
