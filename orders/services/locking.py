"""The one lock order of the core: an order first, then its lines by id.

Every write that touches a line takes it (status facts single and batched, overrides, splits,
order upserts, reconciliation), so two writers of the same order queue on the order row and
never deadlock. The single path takes both locks, reads every line of the order (the rollup needs
them) and checks whether the fact is already recorded, in one statement.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Subquery
from django.db.models.expressions import Col

from orders.models import Order, OrderLine, StatusEvent


@dataclass
class LockedOrder:
    order: Order
    lines: dict[int, OrderLine]  # every line of the order, by id
    fact_recorded: bool = False


def order_lock_for_line(*, line_id: int, fact_key: str = "") -> LockedOrder:
    """Lock the line's order, then all its lines by id; raise OrderLine.DoesNotExist when the
    line does not exist. `fact_recorded` says whether the line already has an event with
    `fact_key` (looked up again when another writer got there first)."""
    quote = connection.ops.quote_name
    line_fields = OrderLine._meta.concrete_fields
    order_fields = Order._meta.concrete_fields
    lock = connection.features.has_select_for_update
    sql = (
        f"WITH locked_order AS (SELECT * FROM {quote(Order._meta.db_table)} "
        f"WHERE id = (SELECT order_id FROM {quote(OrderLine._meta.db_table)} WHERE id = %s)"
        f"{' FOR UPDATE' if lock else ''}) "
        f"SELECT {', '.join('l.' + quote(field.column) for field in line_fields)}, "
        f"{', '.join('o.' + quote(field.column) for field in order_fields)}, "
        f"EXISTS (SELECT 1 FROM {quote(StatusEvent._meta.db_table)} WHERE line_id = %s AND fact_key = %s), "
        f"(SELECT COALESCE(MAX(sequence), 0) FROM {quote(StatusEvent._meta.db_table)} WHERE line_id = %s), "
        f"(SELECT updated_at FROM {quote(Order._meta.db_table)} WHERE id = o.id) "
        f"FROM {quote(OrderLine._meta.db_table)} l JOIN locked_order o ON o.id = l.order_id "
        f"ORDER BY l.id{' FOR UPDATE OF l' if lock else ''}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [line_id, line_id, fact_key, line_id])
        rows = cursor.fetchall()
        if rows and lock and _waited_for_a_writer(rows[0], len(line_fields), order_fields):
            # We waited for the order's lock while another writer changed the order (it may
            # have added lines): the statement's snapshot predates that. Holding the lock now,
            # read again: a new statement sees everything committed.
            cursor.execute(sql, [line_id, line_id, fact_key, line_id])
            rows = cursor.fetchall()
    if not rows:
        raise OrderLine.DoesNotExist(f"no line {line_id}")
    line_converters = _converters(OrderLine, line_fields)
    order_converters = _converters(Order, order_fields)
    width = len(line_fields)
    if len(rows[0]) != width + len(order_fields) + 3:
        raise AssertionError("the lock statement's columns do not match the models")
    order = _instance(Order, order_fields, order_converters, rows[0][width : width + len(order_fields)])
    lines = {}
    for row in rows:
        line = _instance(OrderLine, line_fields, line_converters, row[:width])
        line.order = order  # the same object for every line: one rollup, one sequence
        lines[line.pk] = line
    recorded, events_seen, _order_seen = rows[0][-3:]
    if line_id in lines and lines[line_id].audit_sequence != events_seen:
        # We waited for the lock while another writer added events: the statement's snapshot
        # predates them (the locked rows do not), so look again.
        recorded = StatusEvent.objects.filter(line_id=line_id, fact_key=fact_key).exists()
    return LockedOrder(order=order, lines=lines, fact_recorded=bool(recorded))


def _waited_for_a_writer(row, width: int, order_fields) -> bool:
    """The locked (current) order row differs from the order as the statement's snapshot saw it."""
    updated_at = next(index for index, field in enumerate(order_fields) if field.attname == "updated_at")
    return row[width + updated_at] != row[-1]


def orders_lock(*, order_ids) -> dict[int, LockedOrder]:
    """Lock many orders by id, then all their lines by id (the batch path)."""
    orders = {
        order.pk: order
        for order in Order.objects.select_for_update(of=("self",)).filter(pk__in=order_ids).order_by("pk")
    }
    locked = {order_id: LockedOrder(order=order, lines={}) for order_id, order in orders.items()}
    for line in OrderLine.objects.select_for_update(of=("self",)).filter(order_id__in=orders).order_by("pk"):
        line.order = orders[line.order_id]
        locked[line.order_id].lines[line.pk] = line
    return locked


def orders_lock_for_lines(*, line_ids) -> dict[int, LockedOrder]:
    """Lock the orders of the given lines, then all their lines (by id)."""
    order_ids = Subquery(OrderLine.objects.filter(pk__in=line_ids).values("order_id"))
    return orders_lock(order_ids=list(Order.objects.filter(pk__in=order_ids).values_list("pk", flat=True)))


def _converters(model, fields):
    return [
        (
            field,
            connection.ops.get_db_converters(Col(model._meta.db_table, field)) + field.get_db_converters(connection),
        )
        for field in fields
    ]


def _instance(model, fields, converters, values):
    converted = []
    for (field, field_converters), value in zip(converters, values, strict=True):
        expression = Col(model._meta.db_table, field)
        for converter in field_converters:
            value = converter(value, expression, connection)
        converted.append(value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)
