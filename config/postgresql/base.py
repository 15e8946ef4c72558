"""Django's PostgreSQL backend, with a connection health check that needs no round trip.

With CONN_HEALTH_CHECKS, Django checks a kept connection before each request's first query by
running `SELECT 1`: a round trip to the server on every request. An idle connection has nothing
to read. When the server ends it (a restart, `pg_terminate_backend`, an idle timeout), the
server's goodbye or the socket's end arrives, and the socket becomes readable. So a connection
with nothing to read is healthy, found with one poll of the socket and no query. Only a
connection with something waiting is asked with `SELECT 1`, as Django does. A server that went
silent without closing the socket is left to the TCP keepalives (settings: keepalives_*), as
before: `SELECT 1` would only have waited for it.
"""

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg.pq import TransactionStatus


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE:
            # poll(), not select(): a busy process's descriptors go past select()'s 1024
            poller = select.poll()
            try:
                poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
                if not poller.poll(0):
                    return True
            except (OSError, ValueError):
                return False
        return super().is_usable()
