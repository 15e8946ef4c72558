"""Django's database sessions, the session read by one plain query: every signed-in request reads
it, and building the ORM's query for it cost more than the query itself. The table, the stored
data and everything else are Django's (django.contrib.sessions.backends.db)."""

from django.contrib.sessions.backends import db
from django.utils import timezone


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        table = self.model._meta.db_table
        session = next(
            iter(
                self.model.objects.raw(
                    f"SELECT * FROM {table} WHERE session_key = %s AND expire_date > %s",
                    [self.session_key, timezone.now()],
                )
            ),
            None,
        )
        if session is None:
            self._session_key = None
        return session
