"""Finding the lines a message talks about: by order and line number, by a reference, by a shipment.

External numbers are only unique within their issuer, so the message's source gives the context:
- an order number is looked up under the source that issued it; a number no order of that
  source carries may name another issuer's order, but only one;
- a bill of lading, PRO or tracking number names a shipment: of the fact's carrier (SCAC) or
  of one whose carrier is not known yet; the fact reaches the lines of that shipment only;
- a purchase order is the account's: one that matches lines of two accounts is ambiguous;
- any other reference prefers the ones the message's source issued.
A match the context cannot narrow to one account (or, for a fact about one line, to one line)
raises AmbiguousReference: the message is quarantined with the candidates listed, never applied
to all of them. A fact after shipping that names a split line reaches the child that shipped.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q

from integrations.adapters import LineSelector, ParsedStatus
from integrations.models import SourceKind, SourceSystem
from orders.models import LineReference, OrderLine, Shipment, ShipmentLine
from orders.models.reference import SHIPMENT_REFERENCE_KINDS
from orders.status import AFTER_SHIPPING, LineStatus

# References that name one line: a fact by one of them is about exactly one line.
LINE_LEVEL_KINDS = frozenset(
    {
        LineReference.Kind.SAP_DELIVERY_ITEM,
        LineReference.Kind.SAP_SALES_ORDER_ITEM,
        LineReference.Kind.FIELD_SERVICE_JOB,
    }
)
SHIPMENT_FIELDS = {"bill_of_lading": "bill_of_lading", "pro_number": "pro_number", "tracking_number": "tracking_number"}
AFTER_GOODS_LEFT = frozenset({*AFTER_SHIPPING, LineStatus.RETURNED})


class LineNotFound(Exception):
    """No line matches yet; the order upsert may still be on its way."""


class AmbiguousReference(Exception):
    """The message names lines its context cannot tell apart: a person must decide, then replay."""

    def __init__(self, selector: LineSelector, why: str, candidates: list[OrderLine]):
        self.selector = selector
        self.candidates = [_describe(line) for line in sorted(candidates, key=lambda line: line.pk)]
        super().__init__(f"ambiguous reference {selector}: {why}; candidates: {', '.join(self.candidates)}")


@dataclass
class Candidates:
    """Everything a selector could name, before the message's context narrows it."""

    lines: list[OrderLine] = field(default_factory=list)  # by order and line number, any issuer
    references: list[LineReference] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    lines: list[OrderLine]  # leaf lines, by id
    shipment: Shipment | None = None  # when the fact named a shipment


def lines_for_selector(
    selector: LineSelector, *, source: SourceSystem, status: ParsedStatus | None = None, canonical_status: str = ""
) -> Match:
    """The leaf lines one fact applies to, in the context of its message's source."""
    status = status or ParsedStatus(line=selector, code="", occurred_at=None)  # type: ignore[arg-type]
    return lines_in_scope(
        status,
        lines_for_selectors([selector]).get(selector),
        source=source,
        canonical_status=canonical_status,
    )


def lines_for_selectors(selectors: list[LineSelector]) -> dict[LineSelector, Candidates]:
    """What each selector could name, in three queries for any number of selectors; a selector
    that names nothing is left out."""
    by_number = {(s.order_number, s.line_number) for s in selectors if not s.reference_kind}
    by_reference = {(s.reference_kind, s.reference_value) for s in selectors if s.reference_kind}
    found: dict[LineSelector, Candidates] = defaultdict(Candidates)
    if by_number:
        lines = OrderLine.objects.filter(
            order__number__in={order for order, _line in by_number}, number__in={line for _order, line in by_number}
        ).select_related("order__account")
        for line in lines.order_by("pk"):
            if (line.order.number, line.number) in by_number:
                found[LineSelector(order_number=line.order.number, line_number=line.number)].lines.append(line)
    if by_reference:
        forms: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, stored form) -> values asked
        for kind, value in by_reference:
            for form in reference_forms(kind, value):
                forms[(kind, form)].add(value)
        references = LineReference.objects.filter(
            kind__in={kind for kind, _value in by_reference}, value__in={form for _kind, form in forms}
        ).select_related("line__order__account")
        for reference in references.order_by("line_id", "pk"):
            for value in sorted(forms.get((reference.kind, reference.value), ())):
                _for_reference(found, selectors, reference.kind, value).references.append(reference)
        shipment_numbers = Q()
        for kind, value in by_reference:
            if kind in SHIPMENT_FIELDS:
                shipment_numbers |= Q(**{SHIPMENT_FIELDS[kind]: value})
        if shipment_numbers:
            shipments = Shipment.objects.filter(shipment_numbers).prefetch_related("lines__line__order__account")
            for shipment in shipments.order_by("pk"):
                for kind, model_field in SHIPMENT_FIELDS.items():
                    value = getattr(shipment, model_field)
                    if value and (kind, value) in by_reference:
                        _for_reference(found, selectors, kind, value).shipments.append(shipment)
    return dict(found)


def reference_forms(kind: str, value: str) -> set[str]:
    """The ways a reference is written that name the same thing: an SAP delivery item comes
    zero-padded from the IDoc (0080012345/000010) and often without the zeros from the ERP's
    order message (80012345/10)."""
    if kind != LineReference.Kind.SAP_DELIVERY_ITEM or value.count("/") != 1:
        return {value}
    delivery, item = value.split("/")
    if not (delivery.isdigit() and item.isdigit()):
        return {value}
    return {value, f"{delivery.lstrip('0') or '0'}/{item.lstrip('0') or '0'}", f"{delivery.zfill(10)}/{item.zfill(6)}"}


def _for_reference(found: dict, selectors: list[LineSelector], kind: str, value: str) -> Candidates:
    # Every selector of that (kind, value) shares the candidates; the issuer narrows them later.
    matching = [s for s in selectors if (s.reference_kind, s.reference_value) == (kind, value)]
    shared = next((found[s] for s in matching if s in found), None) or Candidates()
    for selector in matching:
        found[selector] = shared
    return shared


def lines_in_scope(
    status: ParsedStatus, candidates: Candidates | None, *, source: SourceSystem, canonical_status: str = ""
) -> Match:
    """Narrow a selector's candidates by the message's context to the leaf lines the fact is
    about; raises LineNotFound (nothing yet) or AmbiguousReference (more than the fact is about)."""
    selector = status.line
    candidates = candidates or Candidates()
    shipment = None
    if not selector.reference_kind:
        named = _by_number(selector, candidates.lines, source)
    elif selector.reference_kind in SHIPMENT_REFERENCE_KINDS and candidates.shipments:
        shipment = _shipment(selector, status, candidates.shipments)
        named = [shipment_line.line for shipment_line in shipment.lines.all()]
    else:
        named = _by_reference(selector, status, candidates.references, source)
    if not named:
        raise LineNotFound(f"no line matches {selector}")
    if len({line.order.account_id for line in named}) > 1:
        raise AmbiguousReference(selector, "it matches lines of more than one account", named)
    if selector.reference_kind in LINE_LEVEL_KINDS and len({line.pk for line in named}) > 1:
        raise AmbiguousReference(selector, "it names one line and matches several", named)
    leaves = _leaves(named)
    if shipment is None and any(line.is_split for line in named):
        if canonical_status == LineStatus.SHIPPED:
            leaves = _leaves_to_ship(status, leaves)
        elif canonical_status in AFTER_GOODS_LEFT:
            leaves, shipment = _shipped_leaves(selector, status, leaves)
    return Match(lines=leaves, shipment=shipment)


def _by_number(selector: LineSelector, lines: list[OrderLine], source: SourceSystem) -> list[OrderLine]:
    own = [line for line in lines if line.order.issuer == source.code]
    if own:
        return own
    if source.kind == SourceKind.ERP:
        # An ERP speaks of its own orders: another ERP's order of the same number is another
        # customer's. Its own may simply not have arrived yet (LineNotFound: retried).
        return []
    if len({line.order_id for line in lines}) > 1:
        raise AmbiguousReference(selector, "order number issued by more than one source, none of them this one", lines)
    return lines


def _shipment(selector: LineSelector, status: ParsedStatus, shipments: list[Shipment]) -> Shipment:
    carrier = selector.reference_issuer or status.carrier
    fitting = [s for s in shipments if not (carrier and s.carrier and s.carrier != carrier)]
    if not fitting:
        raise LineNotFound(f"no shipment of carrier {carrier} matches {selector}")
    if len(fitting) > 1:
        lines = [shipment_line.line for shipment in fitting for shipment_line in shipment.lines.all()]
        raise AmbiguousReference(selector, f"it matches {len(fitting)} shipments", lines)
    return fitting[0]


def _by_reference(
    selector: LineSelector, status: ParsedStatus, references: list[LineReference], source: SourceSystem
) -> list[OrderLine]:
    if selector.reference_issuer:
        references = [r for r in references if r.issuer == selector.reference_issuer]
    elif selector.reference_kind != LineReference.Kind.PURCHASE_ORDER:
        own_issuers = {source.code, status.carrier} - {""}
        # A blank issuer is a reference carried over from before issuers were recorded.
        own = [r for r in references if r.issuer in own_issuers]
        references = own or references
    return list({reference.line_id: reference.line for reference in references}.values())


def _leaves_to_ship(status: ParsedStatus, leaves: list[OrderLine]) -> list[OrderLine]:
    """A goods issue about a split line: the same shipment again goes to the leaves already on it;
    a new one to the leaves not on any shipment yet (the backordered rest), never to a child that
    left already."""
    on_shipment = {
        shipment_line.line_id: shipment_line.shipment for shipment_line in _shipment_lines([leaf.pk for leaf in leaves])
    }
    numbered = bool(status.bill_of_lading or status.pro_number or status.tracking_number)
    again = [
        leaf
        for leaf in leaves
        if leaf.pk in on_shipment
        and numbered
        and _fits(on_shipment[leaf.pk], status)
        and _names_it(on_shipment[leaf.pk], status)
    ]
    return again or [leaf for leaf in leaves if leaf.pk not in on_shipment] or leaves


def _names_it(shipment: Shipment, status: ParsedStatus) -> bool:
    return any(
        wanted and wanted == actual
        for wanted, actual in (
            (status.bill_of_lading, shipment.bill_of_lading),
            (status.pro_number, shipment.pro_number),
            (status.tracking_number, shipment.tracking_number),
        )
    )


def _shipped_leaves(
    selector: LineSelector, status: ParsedStatus, leaves: list[OrderLine]
) -> tuple[list[OrderLine], Shipment | None]:
    """A fact after shipping about a split line belongs to the child that shipped, not to the rest."""
    on_shipment = {
        shipment_line.line_id: shipment_line.shipment
        for shipment_line in _shipment_lines([leaf.pk for leaf in leaves])
        if _fits(shipment_line.shipment, status)
    }
    shipments = {shipment.pk: shipment for shipment in on_shipment.values()}
    if len(shipments) != 1:
        why = "it names a split line whose shipped part it cannot tell" if shipments else "no part of it shipped"
        raise AmbiguousReference(selector, why, leaves)
    return [leaf for leaf in leaves if leaf.pk in on_shipment], next(iter(shipments.values()))


def _shipment_lines(line_ids: list[int]):
    return ShipmentLine.objects.filter(line_id__in=line_ids).select_related("shipment")


def _fits(shipment: Shipment, status: ParsedStatus) -> bool:
    for wanted, actual in (
        (status.carrier, shipment.carrier),
        (status.tracking_number, shipment.tracking_number),
        (status.bill_of_lading, shipment.bill_of_lading),
        (status.pro_number, shipment.pro_number),
    ):
        if wanted and actual and wanted != actual:
            return False
    return True


def _leaves(lines: list[OrderLine]) -> list[OrderLine]:
    leaves = [line for line in lines if not line.is_split]
    parents = [line for line in lines if line.is_split]
    while parents:
        children = list(OrderLine.objects.filter(parent__in=parents).select_related("order__account"))
        leaves += [child for child in children if not child.is_split]
        parents = [child for child in children if child.is_split]
    return sorted({line.pk: line for line in leaves}.values(), key=lambda line: line.pk)


def _describe(line: OrderLine) -> str:
    issuer = f" from {line.order.issuer}" if line.order.issuer else ""
    return f"{line.order.number}/{line.number} (account {line.order.account.number}{issuer})"
