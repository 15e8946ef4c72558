"""Every portal and technician page wears the viewer's brand (their account's, their dealer's or
the OEM's), the sign-in page the brand of the page asked for; a saved profile shows at once; a
logo is a path or an https URL only; a wrong address is a branded, translated 404 that names nothing."""

import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from config.errors import server_error
from portal.models import PortalProfile
from portal.services.links import status_link_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def brands(customer_account):
    PortalProfile.objects.create(account=None, brand_name="OEM Parts", support_phone="+1 800 555 0100")
    return PortalProfile.objects.create(
        account=customer_account.dealer,
        brand_name="Hansa Service",
        colour_primary="#7a1f1f",
        support_phone="+49 40 555",
    )


def _client(user=None, **headers) -> Client:
    client = Client(**headers)
    if user is not None:
        client.force_login(user)
    return client


def test_the_order_list_and_the_technician_pages_wear_the_viewers_brand(order, showcase, brands, customer, technician):
    order_list = _client(customer).get("/portal/").content.decode()
    parts = _client(technician).get("/tech/").content.decode()
    part = _client(technician).get(f"/tech/parts/{showcase['30'].public_id}/").content.decode()

    for page in (order_list, parts, part):
        assert "Hansa Service" in page and "--brand: #7a1f1f" in page and "+49 40 555" in page
        assert "OEM Parts" not in page


def test_the_sign_in_page_wears_the_brand_of_the_page_asked_for(order, showcase, brands):
    asked = _client().get("/portal/orders/" + str(order.public_id) + "/", follow=True).content.decode()
    plain = _client().get("/portal/login/").content.decode()

    assert "Hansa Service" in asked
    assert "OEM Parts" in plain and "Hansa Service" not in plain


def test_a_saved_profile_shows_at_once(order, showcase, brands, customer):
    client = _client(customer)
    assert "Hansa Service" in client.get("/portal/").content.decode()

    brands.brand_name = "Hansa Nord"
    brands.save()

    assert "Hansa Nord" in client.get("/portal/").content.decode()
    assert "Hansa Nord" in client.get(f"/portal/orders/{order.public_id}/").content.decode()


@pytest.mark.parametrize(
    ("logo_url", "accepted"),
    [
        ("javascript:alert(1)", False),
        ("data:image/svg+xml;base64,PHN2Zz4=", False),
        ("//evil.example/logo.png", False),
        ("http://example.com/logo.png", False),
        ("https://cdn.example.com/logo.png", True),
        ("/static/img/logo.svg", True),
    ],
)
def test_the_admin_takes_a_logo_as_a_path_or_an_https_url_only(db, logo_url, accepted):
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)

    response = _client(admin).post(
        "/admin/portal/portalprofile/add/",
        {
            "brand_name": "Hansa",
            "logo_url": logo_url,
            "colour_primary": "#111111",
            "colour_accent": "#222222",
            "status_link_days": 14,
        },
    )

    assert PortalProfile.objects.filter(logo_url=logo_url).exists() is accepted
    if not accepted:
        assert response.status_code == 200 and "https://" in response.content.decode()


def test_a_wrong_status_link_is_a_branded_translated_404_naming_nothing(order, showcase, brands):
    issued = status_link_issue(order=order, audience="customer")
    wrong = issued.path[:-2] + ("A/" if issued.path[-2] != "A" else "B/")

    response = _client(HTTP_ACCEPT_LANGUAGE="de").get(wrong)

    page = response.content.decode()
    assert response.status_code == 404
    assert '<html lang="de"' in page and "OEM Parts" in page and "+1 800 555 0100" in page
    assert "Diese Seite oder dieser Link existiert nicht" in page
    assert order.number not in page and "Hansa" not in page and "Nordhafen" not in page


def test_a_server_error_is_a_static_translated_page():
    with translation.override("fr"):
        response = server_error(RequestFactory().get("/portal/"))

    assert response.status_code == 500
    assert "Un problème est survenu" in response.content.decode()
