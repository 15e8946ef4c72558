"""Failed sign-ins, limited (config.sign_in_limits): a burst of guesses from one network is
refused before any password is checked, on every way in; the same person elsewhere, and after a
success, is not held back."""

import base64
import secrets

import pytest
from django.contrib.auth.models import Group, Permission

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SIGN_IN_FAILURES_PER_ACCOUNT = 3
    settings.SIGN_IN_FAILURES_PER_NETWORK = 5
    # One window for the whole test: a test that crossed a window's end would start counting anew.
    settings.SIGN_IN_WINDOW_SECONDS = 10**9


def _network() -> str:
    """An address of its own for each test: counts outlive a test in the shared cache."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(250)}"


def _sign_in(client, username: str, password: str, *, address: str, page: str = "/portal/login/"):
    return client.post(page, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_after_the_guesses_allowed_even_the_right_password_waits_and_the_page_says_so(client):
    UserFactory(username="dana")
    here = _network()
    for _ in range(3):
        assert _sign_in(client, "dana", "guess", address=here).status_code == 200

    refused = _sign_in(client, "dana", PASSWORD, address=here)

    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 10**9
    assert "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_same_person_from_another_network_signs_in(client):
    UserFactory(username="dana")
    elsewhere = _network()
    for _ in range(3):
        _sign_in(client, "dana", "guess", address=elsewhere)

    signed_in = _sign_in(client, "dana", PASSWORD, address=_network())

    assert signed_in.status_code == 302 and client.session["_auth_user_id"]


def test_guessing_many_names_from_one_network_is_refused_too(client):
    UserFactory(username="erik")
    here = _network()
    for number in range(5):
        _sign_in(client, f"nobody-{number}", "guess", address=here)

    assert _sign_in(client, "erik", PASSWORD, address=here).status_code == 429


def test_a_successful_sign_in_forgets_the_accounts_earlier_mistakes(client):
    UserFactory(username="fay")
    here = _network()
    for _ in range(2):
        _sign_in(client, "fay", "typo", address=here)
    assert _sign_in(client, "fay", PASSWORD, address=here).status_code == 302
    client.logout()
    for _ in range(2):
        _sign_in(client, "fay", "typo", address=here)

    assert _sign_in(client, "fay", PASSWORD, address=here).status_code == 302


def test_the_back_office_and_the_admin_refuse_the_same_way(client):
    planner = UserFactory(username="gus")
    planner.groups.add(Group.objects.get(name="planner"))
    UserFactory(username="root", is_staff=True, is_superuser=True)
    here = _network()
    for _ in range(3):
        _sign_in(client, "gus", "guess", address=here, page="/backoffice/login/")
    for _ in range(2):
        _sign_in(client, "root", "guess", address=here, page="/admin/login/")

    back_office = _sign_in(client, "gus", PASSWORD, address=here, page="/backoffice/login/")
    admin = _sign_in(client, "root", PASSWORD, address=here, page="/admin/login/")

    assert back_office.status_code == 429
    assert "Too many failed sign-ins" in admin.content.decode() and "_auth_user_id" not in client.session


def test_the_api_with_basic_auth_is_refused_after_the_guesses(client):
    viewer = UserFactory(username="hal")
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "work_in_region"]))
    here = _network()

    def basic(password: str):
        token = base64.b64encode(f"hal:{password}".encode()).decode()
        return client.get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=here)

    assert basic(PASSWORD).status_code == 200
    for _ in range(3):
        assert basic("guess").status_code in (401, 403)  # DRF: 403 when no other scheme asks

    refused = basic(PASSWORD)

    # Told to wait, not that the password is wrong: a client must not rotate good credentials.
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_without_a_client_address_one_account_is_held_back_not_everyone(client):
    """A server on a unix socket without proxy headers knows no address: guesses at one name
    must not refuse every other person's sign-in."""
    UserFactory(username="jo")
    UserFactory(username="kim")
    for number in range(6):
        _sign_in(client, f"nobody-{number}", "guess", address="")
    for _ in range(3):
        _sign_in(client, "jo", "guess", address="")

    assert _sign_in(client, "jo", PASSWORD, address="").status_code == 429
    assert _sign_in(client, "kim", PASSWORD, address="").status_code == 302


def test_the_wait_is_said_in_the_visitors_language(client):
    UserFactory(username="ines")
    here = _network()
    for _ in range(3):
        _sign_in(client, "ines", "guess", address=here)

    refused = client.post(
        "/portal/login/", {"username": "ines", "password": PASSWORD}, REMOTE_ADDR=here, HTTP_ACCEPT_LANGUAGE="de"
    )

    assert refused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in refused.content.decode()
