"""Change publication: other apps register handlers here in their AppConfig.ready().

`orders` imports no other app. It writes OutboxEvent rows in the same transaction as a change,
with one OutboxDelivery row per handler registered for the topic, and delivers each row at least
once to each of them (orders.services.outbox: leased, retried with backoff, dead after the limit).
For what must change together with a status (a stale alert the change ends), an app registers a
hook that runs inside the writing transaction, after the lines are written
(`register_status_change_hook`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from orders.models import OrderLine, OutboxEvent

Handler = Callable[[OutboxEvent], None]
StatusChangeHook = Callable[[list[OrderLine]], None]


class Topic:
    LINE_STATUS_CHANGED = "line.status_changed"
    LINE_SPLIT = "line.split"
    ORDER_UPSERTED = "order.upserted"
    OVERRIDE_CONTESTED = "line.override_contested"
    EVENT_SUPPRESSED = "event.suppressed"
    ALERT_OPENED = "alert.opened"
    ALERT_ESCALATED = "alert.escalated"
    # A source moved a line's ETA (payload: previous_eta, eta, source_system).
    LINE_ETA_CHANGED = "line.eta_changed"
    # A carrier's news of a shipment changed what it shows (location, ETA, numbers): live pages.
    SHIPMENT_UPDATED = "shipment.updated"
    # A person edited a line in the admin (its site, planned ETA, tracking, carrier) or added
    # one (payload: line_id, line_number, fields, added): live pages.
    LINE_EDITED = "line.edited"
    # The back office opened a discrepancy case on a line.
    DISCREPANCY_OPENED = "discrepancy.opened"
    # The scheduled audit verification found altered, missing or unanchored events.
    AUDIT_CHAIN_BROKEN = "audit.chain_broken"


@dataclass(frozen=True)
class Registration:
    name: str
    topics: frozenset[str]
    handler: Handler


_registry: dict[str, Registration] = {}


def register_handler(*, name: str, topics: list[str], handler: Handler) -> None:
    """Deliver rows of `topics` to `handler`; `name` names its delivery rows, so keep it stable
    (a renamed handler leaves the old name's pending deliveries to die as unknown).

    Delivery is at least once: **handlers must be idempotent**. A handler runs outside any
    transaction and holds no lock of the outbox, after its delivery was leased and its attempt
    counted; if the worker dies, or the handler runs longer than the lease
    (OUTBOX_LEASE_SECONDS), it is called again with the same row. So an effect outside the
    database (an SMS, an HTTP call) uses the row id (`event.pk`) and the handler name as its
    idempotency key, and database writes either check what is already there or wrap themselves
    in their own `transaction.atomic()` with a uniqueness constraint. An exception means
    "try again later" (backoff with jitter, dead after OUTBOX_MAX_ATTEMPTS); a handler that
    knows a row can never be delivered records that itself and returns.
    """
    _registry[name] = Registration(name=name, topics=frozenset(topics), handler=handler)


def unregister_handler(name: str) -> None:
    _registry.pop(name, None)


def registered_handlers() -> list[Registration]:
    return list(_registry.values())


def handler_named(name: str) -> Registration | None:
    return _registry.get(name)


def handlers_for(topic: str) -> list[Registration]:
    return [reg for reg in _registry.values() if topic in reg.topics or "*" in reg.topics]


_status_change_hooks: dict[str, StatusChangeHook] = {}


def register_status_change_hook(*, name: str, hook: StatusChangeHook) -> None:
    """Call `hook(lines)` in the transaction that writes a status change, right after the lines
    are written, with the lines whose status changed (split parents whose rollup moved
    included) or that were split. Whatever it writes commits or rolls back with the change; an
    exception rolls the change back. Keep it to a few set-based statements: it runs on every
    status change."""
    _status_change_hooks[name] = hook


def unregister_status_change_hook(name: str) -> None:
    _status_change_hooks.pop(name, None)


def status_change_hooks_run(lines: list[OrderLine]) -> None:
    """Called by the core's writers (orders.services.status.changes_write, split_line)."""
    if not lines:
        return
    for hook in list(_status_change_hooks.values()):
        hook(lines)
