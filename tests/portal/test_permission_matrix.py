"""Who sees what: portal people (own account, a dealer's served accounts, other accounts),
technicians (their jobs) and status link tokens (valid, wrong, expired, revoked, wrong purpose,
another line). Every case out of scope is 404 (or 410 for a link that once worked)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import LinkAudience, LinkPurpose
from portal.services.links import status_link_issue, status_link_revoke
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

CONFIRMATION = {"key": "k" * 16, "code": "SOME-CODE", "quantity": "1", "confirmed_at": "2026-11-02T10:00:00Z"}


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("customer", 200), ("dealer", 200), ("other_customer", 404), ("technician", 404), ("superuser", 200)],
)
def test_portal_order_page_and_live_feed(request, order, showcase, technician, persona, expected):
    if persona == "superuser":
        from tests.factories import UserFactory

        user = UserFactory(username="root", is_superuser=True)
    else:
        user = request.getfixturevalue(persona)
    client = _client(user)

    assert client.get(f"/portal/orders/{order.public_id}/").status_code == expected
    assert client.get(f"/portal/orders/{order.public_id}/live/").status_code == expected


def test_anonymous_is_sent_to_the_portal_sign_in(order):
    response = Client().get(f"/portal/orders/{order.public_id}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


def test_lists_show_only_the_accounts_in_scope(order, customer, dealer, other_customer):
    assert order.number in _client(customer).get("/portal/").content.decode()
    assert order.number in _client(dealer).get("/portal/").content.decode()
    assert order.number not in _client(other_customer).get("/portal/").content.decode()


def test_a_global_grant_does_not_open_every_account_to_a_portal_person(order):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory(username="global-follower")
    user.user_permissions.add(Permission.objects.get(codename="follow_account_orders"))

    assert _client(user).get(f"/portal/orders/{order.public_id}/").status_code == 404


def test_link_management_of_another_account_is_404(order, showcase, other_customer, customer):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    for action in ("revoke", "rotate"):
        answer = _client(other_customer).post(f"/portal/links/{issued.link.public_id}/{action}/", {"confirmed": "1"})
        assert answer.status_code == 404
    assert _client(other_customer).post(f"/portal/links/{issued.link.public_id}/revoke/").status_code == 404
    answer = _client(customer).post(f"/portal/links/{issued.link.public_id}/revoke/", {"confirmed": "1"})
    assert answer.status_code == 302


@pytest.mark.parametrize(("persona", "expected"), [("technician", 200), ("customer", 404), ("other_customer", 404)])
def test_technician_part_page(request, showcase, technician, persona, expected):
    client = _client(request.getfixturevalue(persona))

    assert client.get(f"/tech/parts/{showcase['10.1'].public_id}/").status_code == expected


def test_technician_sees_only_the_lines_of_their_jobs(showcase, technician):
    elsewhere = OrderLineFactory(order=OrderFactory(), number="10")

    page = _client(technician).get("/tech/").content.decode()

    assert str(showcase["10.1"].public_id) in page
    assert str(elsewhere.public_id) not in page


def test_technician_cannot_confirm_a_line_of_another_job(technician):
    elsewhere = OrderLineFactory(order=OrderFactory(), number="10")

    response = _client(technician).post("/tech/confirmations/", {**CONFIRMATION, "line": elsewhere.public_id})

    assert response.status_code == 404


def _token(issued) -> str:
    return issued.path.split("/")[2]


@pytest.mark.parametrize(
    ("case", "page", "live"),
    [("valid", 200, 200), ("expired", 410, 410), ("revoked", 410, 410), ("wrong", 404, 404)],
)
def test_status_link_states(order, showcase, case, page, live):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    path = issued.path
    if case == "expired":
        issued.link.expires_at = timezone.now() - timedelta(seconds=1)
        issued.link.save(update_fields=["expires_at"])
    elif case == "revoked":
        status_link_revoke(link=issued.link)
    elif case == "wrong":
        path = "/s/" + _token(issued)[:-2] + "xx/"

    assert Client().get(path).status_code == page
    assert Client().get(path + "live/").status_code == live


def test_a_view_link_may_not_confirm_a_delivery(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW)

    response = Client().post(issued.path + "confirm/", {**CONFIRMATION, "line": showcase["30"].public_id})

    assert response.status_code == 404


def test_a_customer_link_may_not_confirm_a_delivery(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    response = Client().post(issued.path + "confirm/", {**CONFIRMATION, "line": showcase["30"].public_id})

    assert response.status_code == 404


def test_a_line_link_shows_that_line_only_and_confirms_nothing_else(order, showcase):
    issued = status_link_issue(
        order=order, line=showcase["20"], audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM
    )

    page = Client().get(issued.path).content.decode()
    other_line = Client().post(issued.path + "confirm/", {**CONFIRMATION, "line": showcase["30"].public_id})

    assert f"line-{showcase['20'].public_id}" in page
    assert f"line-{showcase['30'].public_id}" not in page
    assert other_line.status_code == 404


def test_a_customer_link_shows_no_technician_detail(order, showcase, technician):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    page = Client().get(issued.path).content.decode()

    assert "Tomas Field" not in page
    assert "+4915112345678" not in page


def test_a_tracking_number_alone_reveals_nothing(order, showcase, other_customer):
    tracking = "1Z999AA10123456784"

    assert Client().get(f"/portal/?q={tracking}").status_code == 302  # to the sign-in page
    assert order.number not in _client(other_customer).get(f"/portal/?q={tracking}").content.decode()
    assert Client().get(f"/s/{tracking}/").status_code == 404
