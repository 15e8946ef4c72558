"""Who a request's person is: Django's ModelBackend, with the person and their chosen language and
time zone read by one plain query, prepared (orders.prepared). Every signed-in request reads both
(AuthenticationMiddleware, then config.middleware.ViewerPreferencesMiddleware), and building the
ORM's query cost more than the query itself. Signing in is Django's, within the limits of
config.sign_in_limits (failed attempts per account and network).

Sessions store the path of the backend that signed their person in: those signed in with
Django's own ModelBackend before this one was named are rewritten by the migration
orders/0014_sessions_name_our_backend, so nobody is signed out by the release."""

from django.contrib.auth import backends, get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection

from orders.prepared import model_columns, prepared_instance


class ModelBackend(backends.ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        from config.sign_in_limits import sign_in_refused

        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if sign_in_refused(request, username or ""):
            raise PermissionDenied  # no other backend either, and no password hashing
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        from orders.models import UserProfile

        model = get_user_model()
        quote = connection.ops.quote_name
        users, profiles = quote(model._meta.db_table), quote(UserProfile._meta.db_table)
        key = quote(model._meta.pk.column)
        sql = (
            f"SELECT {model_columns(model, 'u')}, p.language AS profile_language, p.time_zone AS profile_time_zone "
            f"FROM {users} u LEFT JOIN {profiles} p ON p.user_id = u.{key} WHERE u.{key} = %s"
        )
        user = prepared_instance(model, sql, [user_id], extra=("profile_language", "profile_time_zone"))
        return user if user is not None and self.user_can_authenticate(user) else None
