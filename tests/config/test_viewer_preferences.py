"""Every page in the viewer's language and time zone: the profile's choice first, then what the
browser says (Accept-Language, the `tz` cookie), then the defaults."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.template import Context, Template
from django.utils import timezone, translation

from orders.services.preferences import user_preferences_update
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/backoffice/login/"
QUEUE = "/backoffice/"


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _page_zone(response) -> tuple[str, str]:
    html = response.content.decode()
    zone = html.split('data-time-zone="', 1)[1].split('"', 1)[0]
    source = html.split('data-time-zone-source="', 1)[1].split('"', 1)[0]
    return zone, source


def test_without_a_profile_the_browser_decides_language_and_zone(client):
    # given a browser that asks for German and says it is in Berlin
    client.cookies["tz"] = "Europe%2FBerlin"  # as static/js/time-zone.js writes it

    # when it opens the sign-in page
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    # then the page is German and in Berlin time, as the browser said
    assert response.headers["Content-Language"] == "de"
    assert _page_zone(response) == ("Europe/Berlin", "browser")


def test_a_cookie_that_names_no_time_zone_is_ignored(client):
    client.cookies["tz"] = "Mars/Olympus_Mons"

    response = client.get(LOGIN)

    assert _page_zone(response) == ("UTC", "default")


def test_the_profile_wins_over_the_browser(client):
    # given a person whose profile says Spanish and Madrid, on a browser in Berlin asking for German
    person = UserFactory(username="lucia")
    person.groups.add(Group.objects.get(name="planner"))
    user_preferences_update(user=person, language="es", time_zone="Europe/Madrid")
    client.force_login(person)
    client.cookies["tz"] = "Europe/Berlin"

    response = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="de")

    assert response.headers["Content-Language"] == "es"
    assert _page_zone(response) == ("Europe/Madrid", "profile")


def test_a_profile_refuses_a_time_zone_that_does_not_exist():
    person = UserFactory(username="typo")

    with pytest.raises(ValidationError):
        user_preferences_update(user=person, language="", time_zone="Europe/Berln")


def test_times_show_in_the_viewers_zone_with_the_zone_named_and_the_languages_date_format():
    moment = datetime(2026, 12, 6, 9, 15, tzinfo=UTC)
    template = Template("{% load viewer_time %}{{ moment|viewer_time }}")

    with translation.override("de"), timezone.override("Europe/Berlin"):
        german = template.render(Context({"moment": moment}))
    with translation.override("en"), timezone.override("America/Chicago"):
        american = template.render(Context({"moment": moment}))

    assert "6. Dezember 2026 10:15 CET" in german
    assert 'datetime="2026-12-06T09:15:00+00:00"' in german
    assert "6 Dec 2026, 03:15 CST" in american  # day before month, 24 hours (config/formats/en)


def test_the_cookie_as_the_page_script_writes_it_url_encoded_names_the_zone(client):
    client.cookies["tz"] = "Europe%2FBerlin"

    response = client.get(LOGIN)

    assert _page_zone(response) == ("Europe/Berlin", "browser")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an in-memory SQLite test database cannot go away")
@pytest.mark.django_db(transaction=True)
def test_a_signed_in_person_is_told_the_database_is_unavailable_when_it_goes_away(client):
    # given a signed-in planner whose browser asks for German
    person = UserFactory(username="planner-db-down")
    person.groups.add(Group.objects.get(name="planner"))
    client.force_login(person)
    client.raise_request_exception = False
    # and a database that refuses connections (nothing listens where it is said to be), as after
    # a restart, before the page reads who they are and what they chose
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9"})
    try:
        response = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="de")
    finally:
        connection.close()
        connection.settings_dict.update(saved)

    # then they are told to come back later, in their language, not shown a server error
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Die Datenbank ist nicht erreichbar" in response.content.decode()
