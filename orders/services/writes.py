"""Writing what the decision made, on PostgreSQL in one statement: the events, the lines, their
history rows, the orders' rollups and the outbox rows as data-modifying CTEs of one query (one
round trip for a change instead of five). Other databases take one statement per table.
Both write the same rows; tests run on both."""

import json
from functools import cache

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from orders.models import DeliveryState, Order, OrderLine, OutboxDelivery, OutboxEvent, StatusEvent
from orders.publication import handlers_for
from orders.services.rows import update_from_values_sql


def rows_write_in_one_statement(
    *, events: list[StatusEvent], lines: list[OrderLine], history: list[OrderLine], orders: list[Order], outbox
) -> None:
    """Insert `events` and `outbox` rows (their pks are set) with the outbox rows' deliveries,
    update `lines` and `orders` with the given fields, insert a history row for each of
    `history`. `lines` and `orders` are (objects, fields) pairs; every outbox payload gets its
    change's event id ("event_id")."""
    parts: list[str] = []
    params: list = []
    quote = connection.ops.quote_name

    sql, values = _insert(StatusEvent, events)
    parts.append(f"ev AS ({sql} RETURNING id, line_id, fact_key)")
    params += values
    line_objects, line_fields = lines
    if line_objects:
        sql, values = update_from_values_sql(OrderLine, line_objects, line_fields)
        parts.append(f"ln AS ({sql} RETURNING 1)")
        params += values
    if history:
        sql, values = _insert(_history_model(), _history_rows(history))
        parts.append(f"hi AS ({sql} RETURNING 1)")
        params += values
    order_objects, order_fields = orders
    if order_objects:
        sql, values = update_from_values_sql(Order, order_objects, order_fields)
        parts.append(f"od AS ({sql} RETURNING 1)")
        params += values
    if outbox:
        now = timezone.now()
        rows, values, wanted = [], [], set()
        for row, (line_id, fact_key) in outbox:
            handlers = [registration.name for registration in handlers_for(row.topic)]
            wanted.update((row.topic, name) for name in handlers)
            row.dispatched_at = None if handlers else now
            rows.append(
                "(%s, %s, %s, jsonb_set(%s::jsonb, '{event_id}', "
                "to_jsonb((SELECT id FROM ev WHERE line_id = %s AND fact_key = %s))), %s, %s)"
            )
            values += [
                row.topic,
                row.order_id,
                row.order_sequence,
                json.dumps(row.payload, cls=DjangoJSONEncoder),
                line_id,
                fact_key,
                now,
                row.dispatched_at,  # a topic nobody wants is dispatched as it is written
            ]
        table = quote(OutboxEvent._meta.db_table)
        parts.append(
            f"ob AS (INSERT INTO {table} (topic, order_id, order_sequence, payload, created_at, dispatched_at) "
            f"VALUES {', '.join(rows)} RETURNING id, topic, order_id, order_sequence, payload)"
        )
        params += values
        if wanted:
            # One delivery row per handler of the row's topic (orders.services.outbox).
            pairs = ", ".join(["(%s::varchar, %s::varchar)"] * len(wanted))
            parts.append(
                f"dl AS (INSERT INTO {quote(OutboxDelivery._meta.db_table)} "
                "(event_id, handler, state, attempts, last_error, next_attempt_at) "
                f"SELECT ob.id, h.handler, %s, 0, '', %s FROM ob JOIN (VALUES {pairs}) AS h(topic, handler) "
                "ON h.topic = ob.topic RETURNING event_id)"
            )
            params += [DeliveryState.PENDING, now, *(value for pair in sorted(wanted) for value in pair)]
    tail = "(SELECT json_agg(json_build_array(id, line_id, fact_key)) FROM ev)"
    tail += ", (SELECT json_agg(json_build_array(id, order_id, order_sequence, payload)) FROM ob)" if outbox else ""
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT {tail}", params)
        result = cursor.fetchone()
    _pks_take(events, result[0], key=lambda event: (event.line_id, event.fact_key))
    if outbox:
        written = {(order_id, sequence): (pk, payload) for pk, order_id, sequence, payload in result[1]}
        for row, _key in outbox:
            row.pk, row.payload = written[(row.order_id, row.order_sequence)]
            row._state.adding, row._state.db = False, connection.alias


def _insert(model, objects) -> tuple[str, list]:
    """`INSERT INTO table (…) VALUES (…), …` for the objects (values prepared as Django saves them)."""
    conn = connections[DEFAULT_DB_ALIAS]
    table, columns, fields = _insert_columns(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    values = [field.get_db_prep_save(field.pre_save(obj, True), conn) for obj in objects for field in fields]
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objects))}", values


@cache
def _insert_columns(model):
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    return quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields), fields


@cache
def _history_model():
    return OrderLine.history.model


def _history_rows(lines: list[OrderLine]) -> list:
    """History rows as simple-history's bulk_history_create builds them."""
    model = _history_model()
    now = timezone.now()
    return [
        model(
            history_date=now,
            history_user=model.get_default_history_user(line),
            history_change_reason="",
            history_type="~",
            **{field.attname: getattr(line, field.attname) for field in model.tracked_fields},
        )
        for line in lines
    ]


def _pks_take(objects, rows, *, key) -> None:
    pks = {(line_id, fact_key): pk for pk, line_id, fact_key in rows or []}
    for obj in objects:
        obj.pk = pks[key(obj)]
        obj._state.adding, obj._state.db = False, connection.alias
