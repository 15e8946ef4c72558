"""Sign-in and sign-out for customers, dealers and technicians (the portal's own pages)."""

from django.contrib.auth import views as auth_views
from django.shortcuts import resolve_url
from django.urls import path

from config import sign_in_limits
from portal.doors import technician_only

# What signing out deletes from the browser besides the session: the technician pages kept for
# offline use (the service worker's caches) and the queue of confirmations (IndexedDB). Shared
# phones and tablets keep nothing of the person who signed out.
CLEAR_SITE_DATA = '"cache", "storage"'


class LoginView(sign_in_limits.LoginView):
    """Without a `next`, a field technician (jobs, no followed accounts) lands on their
    incoming parts; everyone else on their orders."""

    def get_default_redirect_url(self):
        if technician_only(self.request.user):
            return resolve_url("tech:parts")
        return super().get_default_redirect_url()


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


urlpatterns = [
    path(
        "login/",
        LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True, next_page="portal:orders"
        ),
        name="login",
    ),
    path("logout/", LogoutView.as_view(next_page="portal:login"), name="logout"),
]
