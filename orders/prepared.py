"""A cursor whose statements PostgreSQL prepares on a connection that persists (CONN_MAX_AGE),
for the hand-written queries every page read makes (a portal order page's scope check):
planning such a query cost PostgreSQL about three times as much as running it. After its fifth
run on a connection, PostgreSQL runs a prepared statement by its generic plan, planned once.
Django turns psycopg's prepared statements off and binds parameters on the client (connection
poolers in transaction mode know nothing of a session's prepared statements); this cursor binds
them on the server and prepares, for its own statements only. Behind PgBouncer in transaction
mode, use PgBouncer 1.22 or later with max_prepared_statements set. A connection opened per
request (CONN_MAX_AGE=0, as under ASGI) would prepare each statement for one run: there, and on
SQLite, it is Django's own cursor."""

from contextlib import contextmanager
from functools import cache

from django.db import connection


@contextmanager
def prepared_cursor():
    """Django's cursor (its wrappers, query log and execute_wrapper hooks see every statement),
    with its statements prepared on a persistent PostgreSQL connection."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and connection.settings_dict.get("CONN_MAX_AGE") != 0:
            cursor.cursor.close()
            cursor.cursor = _prepared_cursor_class()(connection.connection)
        yield cursor


def prepared_instance(model, sql: str, params, *, extra: tuple[str, ...] = ()):
    """The `model` instance of the first row of `sql` (prepared), or None. The query selects the
    model's concrete columns in their order (`model_columns`), then the `extra` columns, which
    become attributes of the instance (as the database gives them). The model's columns go
    through the database's converters, as the ORM's do (SQLite's times, JSON)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    converters = _converters(model, connection.vendor)
    values = list(row[: len(converters)])
    for index, (column, functions) in enumerate(converters):
        for function in functions:
            values[index] = function(values[index], column, connection)
    instance = model.from_db(connection.alias, [column.target.attname for column, _ in converters], values)
    for name, value in zip(extra, row[len(converters) :], strict=True):
        setattr(instance, name, value)
    return instance


def model_columns(model, alias: str) -> str:
    """The model's concrete columns, qualified by the table's alias in the query, in the order
    prepared_instance reads them."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


@cache
def _converters(model, vendor: str) -> list:
    """[(the column's expression, [its converters])] of each concrete field, in order."""
    converters = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        converters.append((column, connection.ops.get_db_converters(column) + column.get_db_converters(connection)))
    return converters


@cache
def _prepared_cursor_class():
    import psycopg
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            try:
                return super().execute(query, params, prepare=True, binary=binary)
            except psycopg.errors.FeatureNotSupported:
                # "cached plan must not change result type": a migration changed a table under
                # a statement prepared before it. Outside a transaction nothing was aborted:
                # forget every prepared statement (psycopg deallocates them) and run it again.
                if self.connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    raise
                self.connection._prepared.clear()
                return super().execute(query, params, prepare=False, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg keeps the query it ran only when it did not prepare it: Django's query log
            # (and CaptureQueriesContext in tests) reads it back.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparedCursor
