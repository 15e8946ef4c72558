"""The walk: N orders x 3 lines, each line walked released -> ... -> delivered through
orders.services.apply_status_update, one call (one transaction) per change, as a source's
messages would arrive, in 1 and in 2 OS processes (each its own connection, the orders split
between them). A separate measuring pass counts the SQL of each change in the calling process.

What is counted: the statements the walking process sends on its own connection inside
apply_status_update (SELECT, INSERT, UPDATE, a WITH … statement that writes as one WRITE,
SAVEPOINT/RELEASE; psycopg sends BEGIN/COMMIT outside the wrapper); rows written are counted in
the tables (see measured_walk). Outbox delivery runs in a real celery worker (as in
production, REDIS_URL set) on its own connections: its statements are not in the count.
"""

import multiprocessing
import statistics
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

WALK = ("released", "allocated", "picking", "packed", "shipped", "in_transit", "delivered")
LINES_PER_ORDER = 3
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
# django-oscar 4.2.1's Order.set_status walking the same 200 orders on this machine (measured by hand).
PEER = {1: "16-29", 2: "22-27"}
TARGETS = {"sql_per_change": 6, "orders_per_second": {1: 18, 2: 25}}


def walk_orders_create(prefix: str, count: int) -> list[list[int]]:
    """`count` new orders of 3 lines each; returns the line ids of each order."""
    from bench.data import bench_lines
    from orders.models import OrderLine

    numbers = [number for number, _ in bench_lines(prefix, count)]  # one line "10" each
    lines = OrderLine.objects.filter(order__number__in=numbers)
    extra = [
        OrderLine(order_id=line.order_id, number=str(10 * n), part_id=line.part_id, quantity=1, site_id=line.site_id)
        for line in lines
        for n in range(2, LINES_PER_ORDER + 1)
    ]
    OrderLine.objects.bulk_create(extra)
    by_order: dict[int, list[int]] = {}
    for order_id, line_id in OrderLine.objects.filter(order__number__in=numbers).values_list("order_id", "pk"):
        by_order.setdefault(order_id, []).append(line_id)
    return [sorted(ids) for _, ids in sorted(by_order.items())]


def walk_order(line_ids: list[int], *, index: int, timings: list[float] | None = None) -> None:
    """Walk every line of one order, step by step (a source reports each line as it moves)."""
    from orders.services import Actor, apply_status_update

    actor = Actor.integration("bench-walk")
    for step_index, status in enumerate(WALK):
        for line_id in line_ids:
            occurred_at = START + timedelta(minutes=10 * step_index, seconds=index)
            began = time.perf_counter()
            apply_status_update(line_id=line_id, status=status, occurred_at=occurred_at, actor=actor)
            if timings is not None:
                timings.append(time.perf_counter() - began)


def _walk_process(orders: list[list[int]], first_index: int, results) -> None:
    import django

    django.setup()
    timings: list[float] = []
    began = time.perf_counter()
    for offset, line_ids in enumerate(orders):
        walk_order(line_ids, index=first_index + offset, timings=timings)
    results.put({"seconds": time.perf_counter() - began, "timings": timings, "orders": len(orders)})


def timed_walk(orders: list[list[int]], processes: int) -> dict:
    """Walk the orders in `processes` OS processes (spawned: each sets Django up and connects)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    share = -(-len(orders) // processes)
    workers = [
        context.Process(target=_walk_process, args=(orders[i * share : (i + 1) * share], i * share, results))
        for i in range(processes)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=600) for _ in workers]
    wall = time.perf_counter() - began
    for worker in workers:
        worker.join()
    timings = sorted(t for outcome in outcomes for t in outcome["timings"])
    # Throughput over the slowest process's walk (process start-up and django.setup() excluded).
    seconds = max(outcome["seconds"] for outcome in outcomes)
    return {
        "processes": processes,
        "orders": len(orders),
        "calls": len(timings),
        "seconds": round(seconds, 2),
        "wall_seconds_with_startup": round(wall, 2),
        "orders_per_second": round(len(orders) / seconds, 1),
        "ms_per_call_mean": round(1000 * statistics.fmean(timings), 2),
        "ms_per_call_p95": round(1000 * timings[int(0.95 * (len(timings) - 1))], 2),
    }


def measured_walk(orders: list[list[int]]) -> dict:
    """Walk the orders in this process, counting each change's statements and rows written.

    Statements are classified by what they do: a `WITH …` statement whose CTEs insert or update
    is one WRITE (on PostgreSQL a change's events, line, history, rollup and outbox rows go in
    one statement), one that only reads (the lock of the order and its lines) a SELECT. Rows
    written are counted in the tables: rows inserted (events, line history, outbox rows and their
    deliveries, one per registered handler) plus the rows updated (the line and its order for
    every applied change)."""
    from django.db import connection

    from orders.models import EventOutcome, OrderLine, OutboxDelivery, OutboxEvent, StatusEvent

    kinds: Counter = Counter()
    line_ids = [line_id for order in orders for line_id in order]

    def count(execute, sql, params, many, context):
        text = sql.lstrip()
        head = text.split(None, 1)[0].upper() if text else "OTHER"
        if head == "WITH":
            head = "WRITE" if (" INSERT INTO " in text or " UPDATE " in text) else "SELECT"
        kinds[
            head if head in ("SELECT", "INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE", "WRITE") else "OTHER"
        ] += 1
        return execute(sql, params, many, context)

    def inserted() -> int:
        return (
            StatusEvent.objects.filter(line_id__in=line_ids).count()
            + OrderLine.history.filter(id__in=line_ids).count()
            + OutboxEvent.objects.filter(order__lines__in=line_ids).distinct().count()
            + OutboxDelivery.objects.filter(event__order__lines__in=line_ids).distinct().count()
        )

    before = inserted()
    with connection.execute_wrapper(count):
        for index, line_ids_of_order in enumerate(orders):
            walk_order(line_ids_of_order, index=index)
    applied = StatusEvent.objects.filter(line_id__in=line_ids, outcome=EventOutcome.APPLIED, kind="fact").count()
    rows = inserted() - before + 2 * applied
    changes = len(orders) * LINES_PER_ORDER * len(WALK)
    statements = sum(kinds.values())
    return {
        "orders": len(orders),
        "changes": changes,
        "sql_per_change": round(statements / changes, 2),
        "by_kind_per_change": {kind: round(n / changes, 2) for kind, n in sorted(kinds.items())},
        "rows_written_per_change": round(rows / changes, 2),
    }


def walk_scenario(*, run: str, orders: int, measure_orders: int) -> dict:
    from django.db import connection

    measured = measured_walk(walk_orders_create(f"W{run}-m", measure_orders))
    trials = []
    for processes in (1, 2):
        created = walk_orders_create(f"W{run}-p{processes}", orders)
        connection.close()  # the walkers connect on their own
        trials.append(timed_walk(created, processes))
    return {
        "orders": orders,
        "lines_per_order": LINES_PER_ORDER,
        "steps": list(WALK),
        "measured": measured,
        "trials": trials,
    }


def walk_table(walk: dict) -> str:
    measured = walk["measured"]
    lines = [
        f"Walk: {walk['orders']} orders x {walk['lines_per_order']} lines, {' -> '.join(walk['steps'])}, "
        "one apply_status_update (one transaction) per change",
        f"{'processes':<10}{'orders/s':>10}{'ms/call mean':>14}{'ms/call p95':>13}{'calls':>8}"
        f"{'django-oscar 4.2.1 orders/s':>29}{'target':>8}",
    ]
    for trial in walk["trials"]:
        p = trial["processes"]
        target = f">= {TARGETS['orders_per_second'][p]}"
        lines.append(
            f"{p:<10}{trial['orders_per_second']:>10.1f}{trial['ms_per_call_mean']:>14.2f}"
            f"{trial['ms_per_call_p95']:>13.2f}{trial['calls']:>8}{PEER[p]:>29}{target:>8}"
        )
    kinds = ", ".join(f"{kind} {n}" for kind, n in measured["by_kind_per_change"].items())
    lines.append(
        f"Per change (measuring pass, {measured['changes']} changes in this process): "
        f"{measured['sql_per_change']} SQL statements ({kinds}), {measured['rows_written_per_change']} rows written "
        "(inserted rows counted in the tables, plus the line and order each applied change updates); "
        f"target <= {TARGETS['sql_per_change']} statements. Counted: the walking process's own connection; "
        "not counted: BEGIN/COMMIT (psycopg sends them outside the wrapper) and the celery worker's outbox delivery."
    )
    return "\n".join(lines)
