"""The admin's status links: listed and opened within the person's scope, revoked and rotated there."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from guardian.shortcuts import assign_perm

from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue
from tests.factories import OrderFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_in_emea(db):
    user = UserFactory(username="staff-emea", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_statuslink", "change_statuslink"]))
    assign_perm("orders.work_in_region", user, RegionFactory(code="emea"))
    return user


def test_links_are_listed_and_opened_within_scope_only(staff_in_emea):
    inside = status_link_issue(
        order=OrderFactory(account__region=RegionFactory(code="emea")), audience=LinkAudience.CUSTOMER
    )
    outside = status_link_issue(
        order=OrderFactory(account__region=RegionFactory(code="amer")), audience=LinkAudience.CUSTOMER
    )
    client = Client()
    client.force_login(staff_in_emea)

    listing = client.get("/admin/portal/statuslink/").content.decode()

    assert str(inside.link.public_id) in listing
    assert str(outside.link.public_id) not in listing
    assert client.get(f"/admin/portal/statuslink/{inside.link.pk}/change/").status_code == 200
    assert client.get(f"/admin/portal/statuslink/{outside.link.pk}/change/").status_code == 404


def test_revoke_and_rotate_from_the_admin(staff_in_emea):
    issued = status_link_issue(
        order=OrderFactory(account__region=RegionFactory(code="emea")), audience=LinkAudience.CUSTOMER
    )
    client = Client()
    client.force_login(staff_in_emea)

    rotated = client.post(
        "/admin/portal/statuslink/", {"action": "rotate", "_selected_action": [issued.link.pk]}, follow=True
    )

    issued.link.refresh_from_db()
    assert issued.link.revoked_at is not None
    new = issued.link.replaced_by
    assert "/s/" in rotated.content.decode()
    client.post("/admin/portal/statuslink/", {"action": "revoke", "_selected_action": [new.pk]})
    assert StatusLink.objects.get(pk=new.pk).revoked_at is not None


def test_a_rotated_links_token_is_shown_in_the_answer_and_kept_in_no_cookie_or_session(staff_in_emea):
    from django.contrib.sessions.models import Session

    issued = status_link_issue(
        order=OrderFactory(account__region=RegionFactory(code="emea")), audience=LinkAudience.CUSTOMER
    )
    client = Client()
    client.force_login(staff_in_emea)

    answer = client.post("/admin/portal/statuslink/", {"action": "rotate", "_selected_action": [issued.link.pk]})

    page = answer.content.decode()
    token = page.split("/s/")[1].split("/")[0]
    issued.link.refresh_from_db()
    assert answer.status_code == 200 and issued.link.replaced_by is not None
    assert Client().get(f"/s/{token}/").status_code == 200
    assert all(token not in morsel.value for morsel in answer.cookies.values())
    assert all(token not in str(session.get_decoded()) for session in Session.objects.all())
