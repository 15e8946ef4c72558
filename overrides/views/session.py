"""Back-office sign-in and sign-out: its own pages, so planners and supervisors never need the
Django admin (which is for configuration people)."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse

from config import sign_in_limits
from overrides.views.actions import post_action

# What signing out deletes from the browser besides the session: the back-office pages it kept
# (a shared PC shows the next person no order, case or queue of the one who left). Only the
# cache: the back office keeps nothing in storage, and "storage" would also delete, without the
# portal's warning, confirmations a technician's pages on the same site still wait to send.
CLEAR_SITE_DATA = '"cache"'


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


urlpatterns = [
    path(
        "login/",
        sign_in_limits.LoginView.as_view(
            template_name="backoffice/login.html", redirect_authenticated_user=True, next_page="backoffice:queue"
        ),
        name="login",
    ),
    path(
        "logout/",
        post_action(lambda request: reverse("backoffice:queue"))(LogoutView.as_view(next_page="backoffice:login")),
        name="logout",
    ),
]
