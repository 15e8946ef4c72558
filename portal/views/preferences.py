"""The portal's language switcher and preferences page: the back office's (one profile per
person), in the portal's pages."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from django.views.decorators.http import require_POST

from overrides.views.preferences import language_switch, preferences_page

LOGIN = "portal:login"


@login_required(login_url=LOGIN)
def preferences(request):
    return preferences_page(request, template="portal/preferences.html", page="portal:preferences")


@require_POST
def language(request):
    return language_switch(request)


urlpatterns = [
    path("preferences/", preferences, name="preferences"),
    path("language/", language, name="language"),
]
