"""Sign-in and sign-out for customers, dealers and technicians (the portal's own pages)."""

from django.contrib.auth import views as auth_views
from django.urls import path

# What signing out deletes from the browser besides the session: the technician pages kept for
# offline use (the service worker's caches) and the queue of confirmations (IndexedDB). Shared
# phones and tablets keep nothing of the person who signed out.
CLEAR_SITE_DATA = '"cache", "storage"'


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="portal/login.html", redirect_authenticated_user=True, next_page="portal:orders"
        ),
        name="login",
    ),
    path("logout/", LogoutView.as_view(next_page="portal:login"), name="logout"),
]
