"""Change publication: other apps register handlers here in their AppConfig.ready().

`orders` imports no other app. It writes OutboxEvent rows in the same transaction as a change,
with one OutboxDelivery row per handler registered for the topic, and delivers each row at least
once to each of them (orders.services.outbox: leased, retried with backoff, dead after the limit).
"""

from collections.abc import Callable
from dataclasses import dataclass

from orders.models import OutboxEvent

Handler = Callable[[OutboxEvent], None]


class Topic:
    LINE_STATUS_CHANGED = "line.status_changed"
    LINE_SPLIT = "line.split"
    ORDER_UPSERTED = "order.upserted"
    OVERRIDE_CONTESTED = "line.override_contested"
    EVENT_SUPPRESSED = "event.suppressed"
    ALERT_OPENED = "alert.opened"
    ALERT_ESCALATED = "alert.escalated"
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
