"""Back-office sign-in and sign-out: its own pages, so planners and supervisors never need the
Django admin (which is for configuration people)."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse

from overrides.views.actions import post_action

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="backoffice/login.html", redirect_authenticated_user=True, next_page="backoffice:queue"
        ),
        name="login",
    ),
    path(
        "logout/",
        post_action(lambda request: reverse("backoffice:queue"))(
            auth_views.LogoutView.as_view(next_page="backoffice:login")
        ),
        name="logout",
    ),
]
