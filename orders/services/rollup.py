"""Rollups: a split parent from its children, an order from its leaf lines."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from orders.models import Order, OrderLine
from orders.status import PROGRESS_WEIGHT, RANK, LineStatus


def rolled_up_status(statuses: list[str]) -> str:
    """The status a group of lines shows: the least advanced of those still active.

    An exception or a hold anywhere in the group is what people need to see first.
    """
    active = [status for status in statuses if status != LineStatus.CANCELLED]
    if not active:
        return LineStatus.CANCELLED
    for interruption in (LineStatus.EXCEPTION, LineStatus.ON_HOLD):
        if interruption in active:
            return interruption
    on_path = [status for status in active if status in RANK]
    if on_path:
        return min(on_path, key=RANK.__getitem__)
    return LineStatus.RETURNED


@dataclass(frozen=True)
class OrderRollup:
    status: str
    progress_percent: Decimal
    earliest_eta: datetime | None
    latest_eta: datetime | None


def order_rollup(leaves: list[OrderLine]) -> OrderRollup:
    """Status, quantity-weighted progress and ETA range of an order from its leaf lines."""
    counted = [line for line in leaves if line.status not in (LineStatus.CANCELLED, LineStatus.RETURNED)]
    total_quantity = sum(line.quantity for line in counted)
    if total_quantity:
        # Exact decimals: the same lines give the same figure in whatever order they are summed.
        weighted = sum(
            Decimal(line.quantity) * Decimal(str(PROGRESS_WEIGHT.get(line.progress_status, 0.0))) for line in counted
        )
        progress = (100 * weighted / total_quantity).quantize(Decimal("0.01"))
    else:
        progress = Decimal("0.00")
    open_etas = [line.eta for line in counted if line.eta and line.status not in _ARRIVED]
    return OrderRollup(
        status=rolled_up_status([line.status for line in leaves]),
        progress_percent=progress,
        earliest_eta=min(open_etas, default=None),
        latest_eta=max(open_etas, default=None),
    )


_ARRIVED = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED})


def order_rollup_refresh(*, order_id: int) -> Order:
    """Recompute and store the order's rollup. Locks the order first, then reads the lines,
    so that two lines changing at once cannot leave a rollup that misses one of them."""
    order = Order.objects.select_for_update().get(pk=order_id)
    leaves = list(OrderLine.objects.filter(order_id=order_id, is_split=False))
    rollup = order_rollup(leaves)
    order.status = rollup.status
    order.progress_percent = rollup.progress_percent
    order.earliest_eta = rollup.earliest_eta
    order.latest_eta = rollup.latest_eta
    # Derived fields only: the event log says why they changed, so no history row for them.
    order.skip_history_when_saving = True
    order.save(update_fields=["status", "progress_percent", "earliest_eta", "latest_eta", "updated_at"])
    del order.skip_history_when_saving
    return order
