"""What a hostile reviewer tried against the portal, status links and technician pages, as a
user or an attacker would (HTTP and websockets): each case failed before its fix."""

import pytest
from django.test import Client
from guardian.shortcuts import assign_perm

from orders.models import Order
from portal.models import LinkAudience, LinkPurpose, StatusLink
from portal.services.links import status_link_issue
from tests.factories import AccountFactory, OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user, **headers) -> Client:
    client = Client(**headers)
    client.force_login(user)
    return client


def test_two_orders_at_the_same_version_never_share_a_cached_page(order, showcase, customer):
    elsewhere = AccountFactory(name="Elsewhere Mining")
    stranger = UserFactory(username="stranger")
    assign_perm("orders.follow_account_orders", stranger, elsewhere)
    theirs = OrderFactory(account=elsewhere, customer_reference="THEIR-PO")
    mine = OrderFactory(account=order.account, customer_reference="SECRET-PO-1")
    Order.objects.filter(pk__in=[theirs.pk, mine.pk]).update(outbox_sequence=7)

    assert "SECRET-PO-1" in _client(customer).get(f"/portal/orders/{mine.public_id}/").content.decode()
    page = _client(stranger).get(f"/portal/orders/{theirs.public_id}/").content.decode()

    assert "SECRET-PO-1" not in page and mine.number not in page
    assert "THEIR-PO" in page


def test_a_customer_cannot_mint_a_technician_link_from_the_portal(order, showcase, customer):
    response = _client(customer).post(
        f"/portal/orders/{order.public_id}/", {"audience": "technician", "purpose": "view_confirm", "line": ""}
    )

    assert response.status_code == 400
    assert "technician is not one of the available choices" in response.content.decode()
    assert not StatusLink.objects.exists()


def test_a_customer_cannot_rotate_a_technicians_link_into_a_token_of_their_own(order, showcase, customer):
    technicians = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM)
    client = _client(customer)

    page = client.get(f"/portal/orders/{order.public_id}/").content.decode()
    rotated = client.post(f"/portal/links/{technicians.link.public_id}/rotate/")
    revoked = client.post(f"/portal/links/{technicians.link.public_id}/revoke/", {"confirmed": "1"})

    assert str(technicians.link.public_id) not in page
    assert (rotated.status_code, revoked.status_code) == (404, 404)
    assert StatusLink.objects.count() == 1
    assert StatusLink.objects.get().revoked_at is None


def test_a_customer_issues_a_view_link_for_one_line(order, showcase, customer):
    response = _client(customer).post(f"/portal/orders/{order.public_id}/", {"line": "20"})

    link = StatusLink.objects.get()
    assert response.status_code == 302  # back on the order page, the new link shown once
    assert (link.audience, link.purpose, link.line) == ("customer", "view", showcase["20"])


def test_a_search_holding_a_nul_byte_is_a_400_naming_the_search(order, showcase, customer):
    response = _client(customer).get("/portal/", {"q": "PO\x0088123"})

    assert response.status_code == 400
    assert 'id="q-error"' in response.content.decode()


@pytest.mark.parametrize("cookie", ["Foo/Bar", "Europe%2FBerlin%00", "\x00", "../../etc/passwd"])
def test_a_hostile_time_zone_cookie_is_ignored(order, showcase, customer, cookie):
    client = _client(customer)
    client.cookies["tz"] = cookie

    response = client.get(f"/portal/orders/{order.public_id}/")

    assert response.status_code == 200
    assert 'data-time-zone-source="default"' in response.content.decode()


def test_guesses_from_one_ipv6_network_share_one_limit(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP = 2
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    answers = [
        Client(REMOTE_ADDR=f"2001:db8:1:2::{n}").get(f"/s/guessedtokenguessedtoken{n}/").status_code
        for n in range(1, 4)
    ]
    real = Client(REMOTE_ADDR="2001:db8:1:2::99").get(issued.path).status_code
    elsewhere = Client(REMOTE_ADDR="2001:db8:9:9::1").get(issued.path).status_code

    assert answers == [404, 404, 429]
    assert (real, elsewhere) == (429, 200)


def test_a_forwarded_for_header_does_not_reset_the_limit(order, showcase, settings):
    settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP = 2

    answers = [
        Client(REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        .get(f"/s/guessedtokenguessedtoken{n}/")
        .status_code
        for n in range(3)
    ]

    assert answers == [404, 404, 429]


def test_a_traceback_quoting_a_token_is_logged_without_it(order):
    import io
    import logging

    token = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).path.split("/")[2]
    console = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    stream = io.StringIO()
    earlier = console.setStream(stream)
    try:
        try:
            raise ValueError(f"cannot show /s/{token}/")
        except ValueError:
            logging.getLogger("portal.views").exception("Internal Server Error: %s", "/portal/")
    finally:
        console.setStream(earlier)

    assert "ValueError: cannot show /s/[redacted]/" in stream.getvalue()
    assert token not in stream.getvalue()


def test_a_technicians_live_feed_shows_no_internal_status(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW)

    feed = Client().get(issued.path + "live/").content.decode()

    assert '"site"' in feed and '"carrier"' in feed  # what a technician may know
    assert "awaiting_kitting" not in feed  # line 20's internal status


def test_confirming_on_a_link_needs_the_csrf_token(order, showcase):
    issued = status_link_issue(
        order=order, line=showcase["30"], audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM
    )
    confirmation = {"key": "k" * 16, "code": "FL-900", "quantity": "6", "line": showcase["30"].public_id}

    response = Client(enforce_csrf_checks=True).post(issued.path + "confirm/", confirmation)

    assert response.status_code == 403


def test_an_order_of_300_lines_costs_the_queries_of_an_order_of_3(customer_account, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import OrderLineFactory

    client = _client(customer)

    def queries(count: int) -> tuple[int, int]:
        order = OrderFactory(account=customer_account)
        OrderLineFactory.create_batch(count, order=order)
        issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
        with CaptureQueriesContext(connection) as portal:
            assert client.get(f"/portal/orders/{order.public_id}/").status_code == 200
        with CaptureQueriesContext(connection) as link:
            assert Client().get(issued.path).status_code == 200
        return len(portal), len(link)

    queries(3)  # labels and the session warm
    assert queries(3) == queries(300)


def test_a_confirmation_photo_must_be_an_image_file(order, showcase, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.models import DeliveryConfirmation

    settings.MEDIA_ROOT = tmp_path
    issued = status_link_issue(
        order=order, line=showcase["30"], audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM
    )
    page = SimpleUploadedFile("gate.html", b"<script>alert(document.cookie)</script>", content_type="text/html")
    confirmation = {
        "key": "k" * 16,
        "code": "FL-900",
        "quantity": "6",
        "confirmed_at": "2026-11-02T10:00:00Z",
        "line": showcase["30"].public_id,
        "photo": page,
    }

    response = Client().post(issued.path + "confirm/", confirmation)

    assert response.status_code == 400
    assert "photo" in response.json()["errors"]
    assert not DeliveryConfirmation.objects.exists()
    assert not list(tmp_path.rglob("*.html"))
