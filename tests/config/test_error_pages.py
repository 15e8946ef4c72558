"""The 500 page uses neither templates nor the database, so it cannot fail in its turn; under
/api/ it is JSON like the rest of the API."""

import pytest
from django.urls import path

import config.urls
from config.errors import server_error  # noqa: F401  (what config.urls names as handler500)


def _fails(request):
    raise RuntimeError("boom \ud800")  # an error whose text cannot even be encoded


urlpatterns = [
    path("api/v1/boom/", _fails),
    path("boom/", _fails),
    *config.urls.urlpatterns,
]
handler500 = config.urls.handler500

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def test_a_server_error_under_the_api_is_json_and_elsewhere_plain_text(client, settings):
    # given templates that cannot render at all (the 500 page must not need them)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False}]
    client.raise_request_exception = False

    api = client.get("/api/v1/boom/")
    page = client.get("/boom/")

    assert (api.status_code, api.json()) == (500, {"error": "Server error."})
    assert (page.status_code, page["Content-Type"]) == (500, "text/plain; charset=utf-8")
    assert handler500 == "config.errors.server_error"


@pytest.mark.django_db
def test_a_session_cookie_with_a_nul_is_no_session_not_a_server_error(client):
    # Django's cookie parser turns "\000" into a NUL, which no database query takes
    client.cookies.load('sessionid="abcdefgh\\000ij"')

    response = client.get("/portal/")

    assert response.status_code == 302 and "/login" in response["Location"]
