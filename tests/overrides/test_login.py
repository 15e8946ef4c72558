"""The back office's own sign-in and sign-out: planners and supervisors need no admin access."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/backoffice/login/"
PASSWORD = "correct horse battery staple"  # the factory's


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planner(db):
    """A planner as the back office has them: no admin access (not staff)."""
    user = UserFactory(username="planner-emea", is_staff=False)
    user.groups.add(Group.objects.get(name="planner"))
    return user


def test_the_login_page_is_the_back_offices_own_and_translated(client):
    # when someone opens the login page in German
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="de")

    # then it is the back office's page, in German, without the back office's navigation
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "backoffice/login.html"
    content = response.content.decode()
    assert "Anmelden" in content
    assert "/backoffice/approvals/" not in content


def test_a_planner_who_is_not_staff_signs_in_and_lands_where_they_were_going(client, planner):
    # given the approvals page sent them to sign in
    assert client.get("/backoffice/approvals/")["Location"] == f"{LOGIN}?next=/backoffice/approvals/"

    # when they sign in
    response = client.post(LOGIN, {"username": "planner-emea", "password": PASSWORD, "next": "/backoffice/approvals/"})

    # then they are back on the approvals page, and it opens
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/approvals/"
    assert client.get("/backoffice/approvals/").status_code == 200


def test_a_next_on_another_site_is_ignored(client, planner):
    # when the login link carries a next= pointing elsewhere
    response = client.post(LOGIN, {"username": "planner-emea", "password": PASSWORD, "next": "https://evil.example/"})

    # then they land on the back office's queue instead
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"


def test_a_wrong_password_shows_the_form_again_with_an_error(client, planner):
    # when they mistype the password
    response = client.post(LOGIN, {"username": "planner-emea", "password": "wrong", "next": "/backoffice/"})

    # then they stay on the page, told why, and are not signed in
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert client.get("/backoffice/").status_code == 302


def test_the_back_office_shows_no_admin_link_to_people_without_admin_access(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when they open the queue
    content = client.get("/backoffice/").content.decode()

    # then there is a sign-out of the back office and no way into the admin
    assert 'action="/backoffice/logout/"' in content
    assert 'href="/admin/"' not in content


def test_signing_out_ends_the_session_and_returns_to_the_login_page(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when they sign out
    response = client.post("/backoffice/logout/")

    # then they are on the login page, and the back office asks them to sign in again
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.get("/backoffice/")["Location"] == f"{LOGIN}?next=/backoffice/"


def test_signing_out_tells_the_browser_to_drop_the_back_office_pages_it_kept(client, planner):
    # given a planner signed in who opened the queue
    client.force_login(planner)
    assert client.get("/backoffice/").status_code == 200

    # when they sign out
    response = client.post("/backoffice/logout/")

    # then the browser is told to delete its cached pages, so the next person on a shared PC
    # cannot page back through them; storage stays (a technician's unsent confirmations live there)
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache"'


def test_opening_the_sign_out_address_signs_no_one_out_and_clears_nothing(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when a reload or a pasted link opens the sign-out address
    response = client.get("/backoffice/logout/")

    # then they are sent to the queue, still signed in, and the browser keeps its data
    assert response.status_code == 302
    assert response["Location"] == "/backoffice/"
    assert "Clear-Site-Data" not in response
    assert client.get("/backoffice/").status_code == 200
