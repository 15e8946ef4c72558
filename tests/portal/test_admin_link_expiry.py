"""A status link's expiry, edited in the admin by staff who may change links: the one thing they
edit there (the token's hash never shown, nothing else of the link writable), a revoked link's
left alone, and the new expiry on the portal's cached order page at the next read."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from portal.models import LinkAudience, PortalProfile, StatusLink
from portal.services.links import status_link_issue, status_link_revoke
from tests.factories import UserFactory
from tests.portal.fixtures import signed_in

pytestmark = pytest.mark.django_db

# Two months on, noon: within the longest a link may live (STATUS_LINK_MAX_DAYS, 90 by default).
LATER = (timezone.now() + timedelta(days=60)).replace(hour=12, minute=0, second=0, microsecond=0)


def _staff(*codenames: str):
    """Staff in every region (a global grant of the scope) with the link permissions named."""
    user = UserFactory(username="staff-" + "-".join(codenames), is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[*codenames, "work_in_region"]))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def link_changer():
    return _staff("view_statuslink", "change_statuslink")


def _change_url(link) -> str:
    return f"/admin/portal/statuslink/{link.pk}/change/"


def _save(client, link, expires: datetime, **other):
    """The change form as the admin's browser posts it (the site's zone: UTC in tests)."""
    return client.post(
        _change_url(link),
        {
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
            "opens-TOTAL_FORMS": "0",
            "opens-INITIAL_FORMS": str(link.opens.count()),
            "opens-MIN_NUM_FORMS": "0",
            "opens-MAX_NUM_FORMS": "0",
            **other,
        },
    )


def _row(page: str, link) -> str:
    return page.split(f'id="link-{link.public_id}"')[1].split("</tr>")[0]


def test_staff_who_may_change_links_edit_the_expiry_and_nothing_else(order, showcase, link_changer, customer):
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    token_hash, audience = link.token_hash, link.audience

    form = link_changer.get(_change_url(link)).content.decode()
    answer = _save(
        link_changer,
        link,
        LATER,
        token_hash="0" * 64,
        audience=LinkAudience.TECHNICIAN,
        revoked_at_0="2026-01-01",
        revoked_at_1="00:00:00",
        order=str(order.pk),
    )

    assert 'name="expires_at_0"' in form
    for field in ("token_hash", "audience", "purpose", "order", "line", "revoked_at", "issued_at", "issued_by"):
        assert f'name="{field}' not in form
    assert token_hash not in form and "token hash" not in form.lower()
    assert answer.status_code == 302
    link.refresh_from_db()
    assert link.expires_at == LATER
    assert (link.token_hash, link.audience, link.revoked_at, link.order_id) == (token_hash, audience, None, order.pk)


def test_staff_who_only_view_links_cannot_edit_the_expiry(order, showcase):
    viewer = _staff("view_statuslink")
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    expires_at = link.expires_at

    form = viewer.get(_change_url(link)).content.decode()
    answer = _save(viewer, link, LATER)

    assert 'name="expires_at_0"' not in form
    assert answer.status_code == 403
    link.refresh_from_db()
    assert link.expires_at == expires_at


def test_a_revoked_links_expiry_stays_as_it_is(order, showcase, link_changer):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    link = status_link_revoke(link=issued.link)
    expires_at = link.expires_at

    form = link_changer.get(_change_url(link)).content.decode()
    _save(link_changer, link, LATER)

    assert 'name="expires_at_0"' not in form
    link.refresh_from_db()
    assert link.expires_at == expires_at
    assert link.expiry_changed_at is None
    assert Client().get(issued.path).status_code == 410  # revoked for good


def test_an_expired_link_made_valid_again_says_so_in_the_portal_and_the_back_office(
    order, showcase, link_changer, customer
):
    # given a customer's link that expired yesterday
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    expired_at = (timezone.now() - timedelta(days=1)).replace(microsecond=0)
    StatusLink.objects.filter(pk=issued.link.pk).update(
        issued_at=expired_at - timedelta(days=14), expires_at=expired_at
    )
    assert Client().get(issued.path).status_code == 410

    # when staff give it a new expiry in the admin
    _save(link_changer, issued.link, LATER)

    # then it opens again, and the link itself records who made it valid again, when, and from what
    assert Client().get(issued.path).status_code == 200
    link = StatusLink.objects.get(pk=issued.link.pk)
    assert link.expiry_changed_by.username == "staff-view_statuslink-change_statuslink"
    assert link.expires_at_before_change == expired_at
    assert link.expiry_changed_at > expired_at
    # the customer's table says the service team made it valid again (never who), and when
    portal = _row(signed_in(customer).get(f"/portal/orders/{order.public_id}/").content.decode(), link)
    assert "Made valid again by our service team on" in portal
    assert f'datetime="{link.expiry_changed_at.isoformat()}"' in portal
    assert f'datetime="{expired_at.isoformat()}"' in portal
    assert "staff-" not in portal
    # and the back office's names who did it
    planner = UserFactory(username="planner")
    planner.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_for_account", planner, order.account)
    back_office = _row(signed_in(planner).get(f"/backoffice/orders/{order.pk}/").content.decode(), link)
    assert "made valid again" in back_office and "by staff-view_statuslink-change_statuslink" in back_office


def test_an_expiry_before_the_link_was_issued_is_refused(order, showcase, link_changer):
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    expires_at = link.expires_at

    answer = _save(link_changer, link, link.issued_at - timedelta(days=1))

    assert answer.status_code == 200
    assert "A link must expire after it was issued." in answer.content.decode()
    link.refresh_from_db()
    assert link.expires_at == expires_at


def test_an_expiry_past_the_longest_a_link_may_live_is_refused(order, showcase, link_changer, settings):
    settings.STATUS_LINK_MAX_DAYS = 30
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    expires_at = link.expires_at

    answer = _save(link_changer, link, link.issued_at + timedelta(days=31))

    assert answer.status_code == 200
    assert "A status link may stay valid at most 30 days after it was issued." in answer.content.decode()
    link.refresh_from_db()
    assert link.expires_at == expires_at


def test_an_accounts_link_lifetime_past_the_longest_is_refused(customer_account, settings):
    settings.STATUS_LINK_MAX_DAYS = 90
    profile = PortalProfile(account=customer_account, brand_name="Acme service", status_link_days=120)

    with pytest.raises(ValidationError) as refused:
        profile.full_clean()

    assert "status_link_days" in refused.value.message_dict


def test_an_expiry_edited_in_the_admin_shows_on_the_cached_portal_page(order, showcase, link_changer, customer):
    link = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer).link
    StatusLink.objects.filter(pk=link.pk).update(issued_at=timezone.now() - timedelta(days=1))
    portal = signed_in(customer)
    portal.get(f"/portal/orders/{order.public_id}/")
    before = portal.get(f"/portal/orders/{order.public_id}/").content.decode()  # from the cache
    assert "<strong>Active</strong>" in _row(before, link)

    _save(link_changer, link, LATER)
    later = _row(portal.get(f"/portal/orders/{order.public_id}/").content.decode(), link)
    _save(link_changer, link, timezone.now() - timedelta(minutes=1))
    ended = _row(portal.get(f"/portal/orders/{order.public_id}/").content.decode(), link)

    assert f'datetime="{LATER.isoformat()}"' in later and "<strong>Active</strong>" in later
    assert "<strong>Expired</strong>" in ended
