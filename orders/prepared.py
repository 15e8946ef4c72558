"""A cursor whose statements PostgreSQL plans once per connection, for the hand-written queries
every page read makes (a portal order page's scope check): planning such a query cost
PostgreSQL about three times as much as running it. Django turns psycopg's prepared statements
off and binds parameters on the client (connection poolers in transaction mode know nothing of
a session's prepared statements); this cursor binds them on the server and prepares, for its
own statements only. Behind PgBouncer in transaction mode, use PgBouncer 1.21 or later with
max_prepared_statements set. Elsewhere (SQLite) it is Django's own cursor."""

from contextlib import contextmanager
from functools import cache

from django.db import connection


@contextmanager
def prepared_cursor():
    """Django's cursor (its wrappers, query log and execute_wrapper hooks see every statement),
    on PostgreSQL with its statements prepared."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.cursor.close()
            cursor.cursor = _prepared_cursor_class()(connection.connection)
        yield cursor


@cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg keeps the query it ran only when it did not prepare it: Django's query log
            # (and CaptureQueriesContext in tests) reads it back.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparedCursor


def prepared_instance(model, sql: str, params, *, extra: tuple[str, ...] = ()):
    """The `model` instance of the first row of `sql` (prepared), or None. The query selects the
    model's concrete columns in their order (`model_columns`), then the `extra` columns, which
    become attributes of the instance."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    fields = [field.attname for field in model._meta.concrete_fields]
    instance = model.from_db(connection.alias, fields, row[: len(fields)])
    for name, value in zip(extra, row[len(fields) :], strict=True):
        setattr(instance, name, value)
    return instance


def model_columns(model, alias: str) -> str:
    """The model's concrete columns, qualified by the table's alias in the query, in the order
    prepared_instance reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)
