"""Writing many rows of one model at once, by primary key: one set-based UPDATE on PostgreSQL
(`UPDATE … FROM (VALUES …)`), one plain UPDATE per row elsewhere. History, where the model keeps
it, is the caller's to write (in bulk)."""

from django.db import connection

# PostgreSQL takes up to 65,535 parameters a statement; stay well below.
CHUNK_PARAMETERS = 30_000


def rows_update(*, model, objects: list, fields: list[str]) -> None:
    if not objects:
        return
    if len(objects) == 1 or connection.vendor != "postgresql":
        for obj in objects:
            model._default_manager.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in fields})
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    per_row = len(columns)
    size = max(1, CHUNK_PARAMETERS // per_row)
    quote = connection.ops.quote_name
    casts = [column.db_type(connection) for column in columns]
    assignments = ", ".join(f"{quote(column.column)} = v.{quote(column.column)}" for column in columns[1:])
    names = ", ".join(quote(column.column) for column in columns)
    with connection.cursor() as cursor:
        for start in range(0, len(objects), size):
            chunk = objects[start : start + size]
            first = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
            rest = "(" + ", ".join(["%s"] * per_row) + ")"
            values = ", ".join([first] + [rest] * (len(chunk) - 1))
            params = [
                column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in chunk for column in columns
            ]
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "
                f"WHERE t.{quote(meta.pk.column)} = v.{quote(meta.pk.column)}",
                params,
            )
