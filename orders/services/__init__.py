"""Writes of the status core. Every status change goes through apply_status_update."""

from orders.services.contacts import ContactData
from orders.services.events import Actor, Provenance
from orders.services.splitting import SplitPart, split_line
from orders.services.status import (
    DUPLICATE,
    FactFromTheFuture,
    LineIsSplit,
    StatusUpdateResult,
    apply_status_update,
    line_status_override,
)
from orders.services.suppression import status_event_suppress
from orders.services.upsert import LineData, OrderData, order_upsert

__all__ = [
    "DUPLICATE",
    "Actor",
    "ContactData",
    "FactFromTheFuture",
    "LineData",
    "LineIsSplit",
    "OrderData",
    "Provenance",
    "SplitPart",
    "StatusUpdateResult",
    "apply_status_update",
    "line_status_override",
    "order_upsert",
    "split_line",
    "status_event_suppress",
]
