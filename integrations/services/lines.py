"""Finding the lines a message talks about: by order and line number or by a reference."""

from integrations.adapters import LineSelector
from orders.models import LineReference, OrderLine


class LineNotFound(Exception):
    """No line matches yet; the order upsert may still be on its way."""


def lines_for_selector(selector: LineSelector) -> list[OrderLine]:
    """The leaf lines a fact applies to. A fact about a split line applies to every leaf below it."""
    lines = lines_for_selectors([selector]).get(selector)
    if not lines:
        raise LineNotFound(f"no line matches {selector}")
    return _leaves(lines)


def _leaves(lines: list[OrderLine]) -> list[OrderLine]:
    leaves = [line for line in lines if not line.is_split]
    parents = [line for line in lines if line.is_split]
    while parents:
        children = list(OrderLine.objects.filter(parent__in=parents).select_related("order"))
        leaves += [child for child in children if not child.is_split]
        parents = [child for child in children if child.is_split]
    return sorted({line.pk: line for line in leaves}.values(), key=lambda line: line.pk)


def lines_for_selectors(selectors: list[LineSelector]) -> dict[LineSelector, list[OrderLine]]:
    """The lines each selector names directly (no leaves of splits), in two queries for any
    number of selectors; a selector that names nothing is left out."""
    by_number = {(s.order_number, s.line_number) for s in selectors if not s.reference_kind}
    by_reference = {(s.reference_kind, s.reference_value) for s in selectors if s.reference_kind}
    found: dict[LineSelector, list[OrderLine]] = {}
    if by_number:
        candidates = OrderLine.objects.filter(
            order__number__in={order for order, _line in by_number}, number__in={line for _order, line in by_number}
        ).select_related("order")
        for line in candidates:
            if (line.order.number, line.number) in by_number:
                found.setdefault(LineSelector(order_number=line.order.number, line_number=line.number), []).append(line)
    if by_reference:
        references = LineReference.objects.filter(
            kind__in={kind for kind, _value in by_reference}, value__in={value for _kind, value in by_reference}
        ).select_related("line__order")
        for reference in references.order_by("line_id"):
            if (reference.kind, reference.value) in by_reference:
                selector = LineSelector(reference_kind=reference.kind, reference_value=reference.value)
                found.setdefault(selector, []).append(reference.line)
    return found
