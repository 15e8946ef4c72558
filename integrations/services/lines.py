"""Finding the lines a message talks about: by order and line number or by a reference."""

from integrations.adapters import LineSelector
from orders.models import OrderLine


class LineNotFound(Exception):
    """No line matches yet; the order upsert may still be on its way."""


def lines_for_selector(selector: LineSelector) -> list[OrderLine]:
    """The leaf lines a fact applies to. A fact about a split line applies to every leaf below it."""
    if selector.reference_kind:
        lines = list(
            OrderLine.objects.filter(
                references__kind=selector.reference_kind, references__value=selector.reference_value
            ).select_related("order")
        )
    else:
        lines = list(
            OrderLine.objects.filter(order__number=selector.order_number, number=selector.line_number).select_related(
                "order"
            )
        )
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
