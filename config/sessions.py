"""Django's database sessions, the session read by one plain query, prepared (orders.prepared):
every signed-in request reads it, and building the ORM's query for it cost more than the query. The table, the stored
data and everything else are Django's (django.contrib.sessions.backends.db).

A session that names Django's own ModelBackend (signed in before config.auth.ModelBackend, or
by a process of the previous release during a rolling restart) is read as naming ours, and
saved so: nobody is signed out by the release (orders/0014 rewrites those stored at migration)."""

from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone

from orders.prepared import prepared_cursor

BACKEND_SESSION_KEY = "_auth_user_backend"
DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
MODEL_BACKEND = "config.auth.ModelBackend"


class SessionStore(db.SessionStore):
    def load(self):
        data = super().load()
        if data.get(BACKEND_SESSION_KEY) == DJANGO_MODEL_BACKEND:
            data[BACKEND_SESSION_KEY] = MODEL_BACKEND
            self.modified = True  # saved at the end of the request
        return data

    def _get_session_from_db(self):
        if "\x00" in self.session_key:  # a forged cookie: no stored key holds one, and no query takes it
            self._session_key = None
            return None
        table = connection.ops.quote_name(self.model._meta.db_table)
        with prepared_cursor() as cursor:
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
