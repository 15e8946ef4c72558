"""Writing many rows of one model at once, by primary key: one set-based UPDATE on PostgreSQL
(`UPDATE … FROM (VALUES …)`), one plain UPDATE per row elsewhere. History, where the model keeps
it, is the caller's to write (in bulk)."""

from django.db import DEFAULT_DB_ALIAS, connection, connections

# PostgreSQL takes up to 65,535 parameters a statement; stay well below.
CHUNK_PARAMETERS = 30_000


def rows_update(*, model, objects: list, fields: list[str]) -> None:
    if not objects:
        return
    if len(objects) == 1 or connection.vendor != "postgresql":
        for obj in objects:
            model._default_manager.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in fields})
        return
    size = max(1, CHUNK_PARAMETERS // (len(fields) + 1))
    with connection.cursor() as cursor:
        for start in range(0, len(objects), size):
            cursor.execute(*update_from_values_sql(model, objects[start : start + size], fields))


def update_from_values_sql(model, objects: list, fields: list[str]) -> tuple[str, list]:
    """`UPDATE table AS t SET … FROM (VALUES (pk, …), …) AS v(…) WHERE t.pk = v.pk` (PostgreSQL)."""
    meta = model._meta
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: no proxy lookup per value
    quote = conn.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    casts = [column.db_type(conn) for column in columns]
    first = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
    rest = "(" + ", ".join(["%s"] * len(columns)) + ")"
    values_sql = ", ".join([first] + [rest] * (len(objects) - 1))
    names = ", ".join(quote(column.column) for column in columns)
    assignments = ", ".join(f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:])
    values = [column.get_db_prep_save(getattr(obj, column.attname), conn) for obj in objects for column in columns]
    return (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES {values_sql}) AS v({names}) "
        f"WHERE t.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}",
        values,
    )
