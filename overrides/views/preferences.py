"""Back-office screen: my language and time zone (blank: as my browser says), and the header's
language switcher, which a signed-in person's choice is kept for (their profile wins over it)."""

import functools
import unicodedata
import zoneinfo
from importlib import resources
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.i18n import set_language

from config.middleware import TIME_ZONE_COOKIE
from orders.services.preferences import time_zone_named, user_preferences, user_preferences_update
from overrides.views.actions import post_action


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), required=False)

    def __init__(self, *args, browser_zone: str = "", saved_zone: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", _("As my browser says")), *settings.LANGUAGES]
        browser = _("As my browser says")
        if browser_zone:
            browser = _("As my browser says (now %(zone)s)") % {"zone": browser_zone}
        # A zone the person saved stays theirs to keep, even an old name no longer offered.
        saved = saved_zone if time_zone_named(saved_zone) else ""
        self.fields["time_zone"].choices = [("", browser), *_zones_by_area(saved)]


# The zones of the tz database's own lists of zones by country: zone1970.tab, and zone.tab for
# the zones of countries it merged (Europe/Oslo, Europe/Amsterdam). The other names are links kept
# for old software (Europe/Kiev, Asia/Calcutta, US/Eastern, Australia/ACT): offered, each place
# would be listed twice or more.
ZONE_TABLES = ("zone1970.tab", "zone.tab")


@functools.cache
def _listed_zone_names() -> frozenset[str]:
    available = zoneinfo.available_timezones()
    listed = {name for table in ZONE_TABLES for name in _zone_table(table)} & available
    if not listed:  # no table on this machine: every name, as it comes
        listed = {zone for zone in available if "/" in zone and not zone.startswith("Etc/")}
    return frozenset(listed | {"UTC"})


def _zone_table(name: str) -> set[str]:
    """The zone names a table of the tz database lists (third column), read where zoneinfo reads
    the zones: the system's zone directories first, then the tzdata package."""
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / name
        if path.is_file():
            return _zone_table_names(path.read_text(encoding="utf-8"))
    try:
        return _zone_table_names(resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError):
        return set()


def _zone_table_names(text: str) -> set[str]:
    rows = (line.split("\t") for line in text.splitlines() if line and not line.startswith("#"))
    return {row[2].strip() for row in rows if len(row) > 2}


# The areas of the IANA zone names, in the viewer's language; the places stay as the database
# names them (hundreds of cities, which people recognise in English).
AREA_NAMES = {
    "Africa": pgettext_lazy("time zone area", "Africa"),
    "America": pgettext_lazy("time zone area", "America"),
    "Antarctica": pgettext_lazy("time zone area", "Antarctica"),
    "Arctic": pgettext_lazy("time zone area", "Arctic"),
    "Asia": pgettext_lazy("time zone area", "Asia"),
    "Atlantic": pgettext_lazy("time zone area", "Atlantic"),
    "Australia": pgettext_lazy("time zone area", "Australia"),
    "Brazil": pgettext_lazy("time zone area", "Brazil"),
    "Canada": pgettext_lazy("time zone area", "Canada"),
    "Chile": pgettext_lazy("time zone area", "Chile"),
    "Europe": pgettext_lazy("time zone area", "Europe"),
    "Indian": pgettext_lazy("time zone area", "Indian Ocean"),
    "Mexico": pgettext_lazy("time zone area", "Mexico"),
    "Pacific": pgettext_lazy("time zone area", "Pacific"),
    "US": pgettext_lazy("time zone area", "United States"),
}


def _zones_by_area(saved: str = "") -> list[tuple[str, str | list[tuple[str, str]]]]:
    """The zones grouped by their area (Europe, America, ...), the areas named in the viewer's
    language and in its alphabetical order, each zone named by its place ("Berlin",
    "Argentina / Buenos Aires"): a list one can scan, instead of four hundred names in a row.
    UTC comes first, on its own; `saved` (a zone the person holds) is listed too."""
    areas: dict[str, list[tuple[str, str]]] = {}
    alone: list[tuple[str, str]] = []
    for zone in sorted(_listed_zone_names() | ({saved} if saved else set())):
        if "/" not in zone:
            alone.append((zone, zone))
            continue
        area, place = zone.split("/", 1)
        areas.setdefault(str(AREA_NAMES.get(area, area)), []).append(
            (zone, place.replace("_", " ").replace("/", " / "))
        )
    alone.sort(key=lambda choice: choice[0] != "UTC")
    return [*alone, *sorted(areas.items(), key=lambda item: _sort_key(item[0]))]


def _sort_key(name: str) -> str:
    # Accents set aside, so that French "États-Unis" sorts among the E's, not after the Z's.
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


@login_required
def preferences(request):
    return preferences_page(request, template="backoffice/preferences.html", page="backoffice:preferences")


def preferences_page(request, *, template: str, page: str):
    """The preferences form, shown with `template`; saved, it leads back to `page` (a URL name).
    The portal's preferences are the same form in the portal's pages."""
    browser_zone = (
        request.COOKIES.get(TIME_ZONE_COOKIE, "") if time_zone_named(request.COOKIES.get(TIME_ZONE_COOKIE)) else ""
    )
    profile = user_preferences(request.user)
    initial = {"language": profile.language, "time_zone": profile.time_zone} if profile else {}
    form = PreferencesForm(
        request.POST or None,
        initial=initial,
        browser_zone=browser_zone,
        saved_zone=profile.time_zone if profile else "",
    )
    if request.method == "POST" and form.is_valid():
        user_preferences_update(
            user=request.user, language=form.cleaned_data["language"], time_zone=form.cleaned_data["time_zone"]
        )
        # Said in the language just chosen (the page after the redirect speaks it).
        with translation.override(form.cleaned_data["language"] or translation.get_language()):
            messages.success(request, _("Your preferences are saved."))
        response = redirect(page)
        if form.cleaned_data["language"]:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.cleaned_data["language"], samesite="Lax")
        return response
    context = {"form": form, "browser_zone": browser_zone, "now_utc": timezone.now()}
    return render(request, template, context)


@post_action(lambda request: reverse("backoffice:queue"))
def language(request):
    """The header's switcher: the language for this browser (a cookie), and for a signed-in
    person their profile's language too, which would otherwise override the switcher."""
    return language_switch(request)


def language_switch(request):
    """A posted language for this browser and, signed in, for the person's profile (the portal's
    header switcher is this too)."""
    chosen = request.POST.get("language", "")
    if request.user.is_authenticated and chosen in dict(settings.LANGUAGES):
        profile = user_preferences(request.user)
        user_preferences_update(user=request.user, language=chosen, time_zone=profile.time_zone if profile else "")
    return set_language(request)


urlpatterns = [
    path("preferences/", preferences, name="preferences"),
    path("language/", language, name="language"),
]
