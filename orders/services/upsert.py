"""Creating and updating orders and lines from source systems (order upserts)."""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Account, Asset, LineReference, Order, OrderLine, Part, Region, Site
from orders.publication import Topic
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
    references: tuple[tuple[str, str], ...] = ()


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


def order_upsert(*, data: OrderData, actor: Actor, provenance: Provenance) -> Order:
    """Create the order and the lines it does not have yet; update what a source may change
    (dates, priority, sites, ETAs, references). Statuses never change here."""
    now = timezone.now()
    with transaction.atomic():
        account = _account(data)
        order = Order.objects.select_for_update().filter(number=data.number).first()
        if order is None:
            order = Order(number=data.number, account=account, region=_region(data.region_code) or account.region)
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
        existing = {line.number: line for line in OrderLine.objects.select_for_update().filter(order=order)}
        for line_data in data.lines:
            line = existing.get(line_data.number)
            if line is None:
                _line_create(order, line_data, actor=actor, provenance=provenance, now=now)
            else:
                _line_update(line, line_data)
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


def _line_create(order: Order, data: LineData, *, actor: Actor, provenance: Provenance, now: datetime) -> OrderLine:
    line = OrderLine.objects.create(
        order=order,
        number=data.number,
        part=_part(data),
        quantity=data.quantity,
        site=_site(data.site_code),
        eta=data.eta,
        status_occurred_at=now,
        status_changed_at=now,
    )
    LineReference.objects.bulk_create(
        [LineReference(line=line, kind=kind, value=value) for kind, value in data.references]
    )
    line_start_record(line=line, occurred_at=now, actor=actor, provenance=provenance)
    return line


def _line_update(line: OrderLine, data: LineData) -> None:
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
    if data.eta:
        line.eta = data.eta
    line.save(update_fields=["quantity", "site", "eta", "updated_at"])
    known = set(line.references.values_list("kind", "value"))
    LineReference.objects.bulk_create(
        [
            LineReference(line=line, kind=kind, value=value)
            for kind, value in data.references
            if (kind, value) not in known
        ]
    )
