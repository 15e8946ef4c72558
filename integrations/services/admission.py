"""What a person whose scope is not everything may try (dry run) or upload through the admin.

A message, or a depot sheet row, that names a line or an existing order outside the person's
scope behaves as if that line did not exist: the dry run answers "no line matches …" without
running (so it takes no lock on another region's rows and shows nothing of them), and an
upload keeps the row as an unknown order without making a message of it (no worker ever
applies it). Every line a selector could name counts, before the message's context narrows the
candidates: a reference shared with another region's line is refused too, rather than
guessed. The unit refused is the unit processed: the whole message for the dry run, the row
for a sheet.
"""

from collections.abc import Iterable

from integrations.adapters import LineSelector, ParsedMessage
from integrations.services.lines import LineNotFound, lines_for_selectors
from orders.models import Order
from orders.scoping import lines_visible_to, orders_visible_to, sees_every_order


def selectors_out_of_scope(*, user, selectors: Iterable[LineSelector]) -> set[LineSelector]:
    """The selectors among these that could name a line outside the person's scope."""
    selectors = set(selectors)
    if not selectors or sees_every_order(user):
        return set()
    named: dict[LineSelector, set[int]] = {}
    for selector, candidates in lines_for_selectors(list(selectors)).items():
        named[selector] = (
            {line.pk for line in candidates.lines}
            | {reference.line_id for reference in candidates.references}
            | {item.line_id for shipment in candidates.shipments for item in shipment.lines.all()}
        )
    every = set().union(*named.values()) if named else set()
    visible = set(lines_visible_to(user).filter(pk__in=every).values_list("pk", flat=True))
    return {selector for selector, line_ids in named.items() if line_ids - visible}


def message_admit(*, user, parsed: ParsedMessage) -> None:
    """Raise LineNotFound, as for a line that does not exist, when the message names an
    existing order or a line outside the person's scope."""
    if sees_every_order(user):
        return
    numbers = {order.number for order in parsed.orders}
    if numbers:
        existing = Order.objects.filter(number__in=numbers)
        hidden = set(existing.values_list("number", flat=True)) - set(
            orders_visible_to(user, existing).values_list("number", flat=True)
        )
        if hidden:
            raise LineNotFound(f"no line matches {min(hidden)}")
    outside = selectors_out_of_scope(user=user, selectors=[status.line for status in parsed.statuses])
    for status in parsed.statuses:
        if status.line in outside:
            raise LineNotFound(f"no line matches {status.line}")
