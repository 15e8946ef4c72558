"""The benchmark's data, through the ORM (after django.setup()): a source, lines, status messages,
backlogs, and what the workers made of them."""

import json
import secrets
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Max, Min

from integrations.models import InboundMessage, MessageFormat, MessageState, SourceKind, SourceSystem, Transport
from orders.models import Account, Order, OrderLine, Part, Region, Site, StatusEvent

# Each line is moved along these steps, one message per step.
STEPS = ("released", "allocated", "picking", "packed", "shipped")
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def bench_source(run: str) -> SourceSystem:
    return SourceSystem.objects.create(
        code=f"bench-{run}",
        name=f"Benchmark {run}",
        kind=SourceKind.WMS,
        message_format=MessageFormat.CANONICAL_JSON,
        secret=secrets.token_hex(16),
    )


def bench_lines(prefix: str, count: int) -> list[tuple[str, str]]:
    """`count` new orders of one line each: (order number, line number). One line per order keeps
    workers from queueing on the same order row, as in a network with many open orders."""
    region, _ = Region.objects.get_or_create(code="bench", defaults={"name": "Benchmark"})
    site, _ = Site.objects.get_or_create(
        code="bench-dc", defaults={"name": "Benchmark DC", "kind": Site.Kind.DISTRIBUTION_CENTRE, "region": region}
    )
    account, _ = Account.objects.get_or_create(
        number="BENCH", defaults={"name": "Benchmark customer", "region": region, "country": "NL"}
    )
    part, _ = Part.objects.get_or_create(
        number="BENCH-PART", defaults={"description": "Benchmark part", "category": "bench", "criticality": "B"}
    )
    orders = Order.objects.bulk_create(
        Order(number=f"{prefix}-{n:06d}", account=account, region=region) for n in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(order=order, number="10", part=part, quantity=1, site=site) for order in orders
    )
    return [(order.number, "10") for order in orders]


def status_messages(prefix: str, lines: list[tuple[str, str]], count: int) -> list[bytes]:
    """`count` canonical JSON messages, one status fact each, step by step over all lines, so that
    the facts about one line are far apart and arrive in order."""
    if count > len(lines) * len(STEPS):
        raise ValueError(f"{len(lines)} lines give at most {len(lines) * len(STEPS)} messages, not {count}")
    bodies = []
    for step_index, step in enumerate(STEPS):
        for line_index, (order, line) in enumerate(lines):
            occurred_at = START + timedelta(minutes=10 * step_index, seconds=line_index)
            document = {
                "message_id": f"{prefix}-{len(bodies):07d}",
                "statuses": [{"order": order, "line": line, "status": step, "occurred_at": occurred_at.isoformat()}],
            }
            bodies.append(json.dumps(document).encode())
    return bodies[:count]


def backlog_store(source: SourceSystem, bodies: list[bytes]) -> list[int]:
    """Store messages as the webhook would, and queue their tasks, without going through HTTP."""
    from integrations.tasks import inbound_process

    messages = InboundMessage.objects.bulk_create(
        InboundMessage(
            source=source,
            message_id=json.loads(body)["message_id"],
            transport=Transport.WEBHOOK,
            content_type="application/json",
            raw=body.decode(),
        )
        for body in bodies
    )
    for message in messages:
        inbound_process.delay(message.pk)
    return [message.pk for message in messages]


WAITING = [MessageState.RECEIVED, MessageState.RETRYING]


def earlier_runs_retire() -> int:
    """Dead-letter what earlier, interrupted benchmark runs left waiting: the workers would
    otherwise spend this run's time on it. Returns how many."""
    return InboundMessage.objects.filter(source__code__startswith="bench-", state__in=WAITING).update(
        state=MessageState.DEAD, last_error="left waiting by an interrupted benchmark run", next_attempt_at=None
    )


def outbox_backlog_retire(reason: str) -> int:
    """Retire the outbox deliveries still pending (dead, with the reason): a scenario that
    measures deliveries (pushes, messages) would otherwise wait behind the backlog an earlier
    scenario or run left (the walk's 4,200 changes, its worker stopped). The benchmark's
    database is its own, so every pending delivery in it is a benchmark's. Returns how many."""
    from orders.models.outbox import DeliveryState, OutboxDelivery

    pending = OutboxDelivery.objects.filter(state=DeliveryState.PENDING)
    return pending.update(state=DeliveryState.DEAD, last_error=reason)


def foreign_waiting_count() -> int:
    """Messages of other sources waiting in this database: the workers would process them too."""
    return InboundMessage.objects.filter(state__in=WAITING).exclude(source__code__startswith="bench-").count()


def retries_requeue(source: SourceSystem) -> int:
    """The sweep, for this run's messages only: queue the retries that are due."""
    from django.utils import timezone

    from integrations.tasks import inbound_process

    due = InboundMessage.objects.filter(
        source=source, state=MessageState.RETRYING, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    for message_id in due:
        inbound_process.delay(message_id)
    return len(due)


def waiting_count(source: SourceSystem) -> int:
    return InboundMessage.objects.filter(source=source, state__in=WAITING).count()


def processing_summary(source: SourceSystem) -> dict:
    """States of the source's messages, the processed_at span, and the events they produced."""
    messages = InboundMessage.objects.filter(source=source)
    states = dict(messages.values_list("state").annotate(n=Count("id")))
    span = messages.filter(state=MessageState.PROCESSED).aggregate(first=Min("processed_at"), last=Max("processed_at"))
    outcomes = dict(
        StatusEvent.objects.filter(source_system=source.code).values_list("outcome").annotate(n=Count("id"))
    )
    seconds = (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0
    return {"states": states, "outcomes": outcomes, "seconds": seconds, "processed": states.get("processed", 0)}
