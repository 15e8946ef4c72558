"""Django's database sessions, the session read by one plain query: every signed-in request reads
it, and building the ORM's query for it cost more than the query itself. The table, the stored
data and everything else are Django's (django.contrib.sessions.backends.db)."""

from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT session_data FROM {table} WHERE session_key = %s AND expire_date > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        # load() reads only the data; the expiry is the one checked here.
        return self.model(session_key=self.session_key, session_data=row[0])
