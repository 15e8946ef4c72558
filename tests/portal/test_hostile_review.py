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
    revoked = client.post(f"/portal/links/{technicians.link.public_id}/revoke/")

    assert str(technicians.link.public_id) not in page
    assert (rotated.status_code, revoked.status_code) == (404, 404)
    assert StatusLink.objects.count() == 1
    assert StatusLink.objects.get().revoked_at is None


def test_a_customer_issues_a_view_link_for_one_line(order, showcase, customer):
    response = _client(customer).post(f"/portal/orders/{order.public_id}/", {"line": "20"})

    link = StatusLink.objects.get()
    assert response.status_code == 200
    assert (link.audience, link.purpose, link.line) == ("customer", "view", showcase["20"])
