"""A portal person issues at most STATUS_LINK_ISSUES_PER_HOUR status links an hour: past it the
order page's form says why (in the person's language), and no link is made."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import StatusLink
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db

ISSUE = {"audience": "customer", "purpose": "view", "line": ""}


def test_the_31st_link_in_an_hour_is_refused_with_a_reason_and_makes_nothing(order, showcase, customer, dealer):
    client = signed_in(customer)
    page = f"/portal/orders/{order.public_id}/"
    for _ in range(30):
        assert client.post(page, ISSUE).status_code == 302

    refused = client.post(page, ISSUE)

    assert refused.status_code == 400
    assert "You have reached the limit of 30 status links an hour. Please try again later." in refused.content.decode()
    assert StatusLink.objects.filter(issued_by=customer).count() == 30
    # another person of the account is not held back by it
    assert signed_in(dealer).post(page, ISSUE).status_code == 302
    # rotating a link replaces it (no more working links): still allowed
    link = StatusLink.objects.filter(issued_by=customer).first()
    assert client.post(f"/portal/links/{link.public_id}/rotate/").status_code == 302
    link.refresh_from_db()
    assert link.replaced_by is not None


def test_links_issued_over_an_hour_ago_no_longer_count(order, showcase, customer, settings):
    settings.STATUS_LINK_ISSUES_PER_HOUR = 2
    client = signed_in(customer, "de")
    page = f"/portal/orders/{order.public_id}/"
    client.post(page, ISSUE)
    client.post(page, ISSUE)

    refused = client.post(page, ISSUE)
    assert refused.status_code == 400
    assert "Sie dürfen höchstens 2 Statuslinks pro Stunde ausstellen." in refused.content.decode()

    StatusLink.objects.update(issued_at=timezone.now() - timedelta(hours=1, minutes=1))
    assert client.post(page, ISSUE).status_code == 302
    assert StatusLink.objects.filter(issued_by=customer).count() == 3
