"""Who a request's person is: Django's ModelBackend, with the person read by one plain query.
Every signed-in request reads it (AuthenticationMiddleware), and building the ORM's query for
it cost more than the query itself. Everything else, signing in included, is Django's.

Sessions store the path of the backend that signed their person in: those signed in with
Django's own ModelBackend before this one was named are rewritten by the migration
orders/0014_sessions_name_our_backend, so nobody is signed out by the release."""

from django.contrib.auth import backends, get_user_model
from django.db import connection


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        table = connection.ops.quote_name(model._meta.db_table)
        key = connection.ops.quote_name(model._meta.pk.column)
        user = next(iter(model._default_manager.raw(f"SELECT * FROM {table} WHERE {key} = %s", [user_id])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
