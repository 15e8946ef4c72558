"""The order's status links in the back office: who sees them, revoke and new token for people
with the order in scope and a planner's role or above, who did it kept and shown, the new link
shown once on the order page (post/redirect/get)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from portal.models import LinkAudience, StatusLink
from portal.services.links import status_link_issue, status_link_rotate
from tests.factories import OrderFactory, OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="Europe, Middle East and Africa")


def _person(role, region, username=None):
    user = UserFactory(username=username or role)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


@pytest.fixture
def order(emea):
    order = OrderFactory(account__region=emea, number="SO-4711")
    OrderLineFactory(order=order, number="10")
    return order


@pytest.fixture
def issued(order):
    return status_link_issue(order=order, audience=LinkAudience.CUSTOMER)


def test_the_order_page_lists_its_links_with_their_state(client, emea, order, issued):
    # given a line link, a revoked link and an expired one besides the open customer link
    line_link = status_link_issue(order=order, line=order.lines.get(), audience=LinkAudience.TECHNICIAN)
    revoked = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    revoked.revoked_at = timezone.now()
    revoked.revoked_by = UserFactory(username="clara")
    revoked.save()
    expired = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, expires_in=timedelta(days=1)).link
    StatusLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client.force_login(_person("viewer", emea))

    # when a viewer opens the order
    page = client.get(f"/backoffice/orders/{order.pk}/").content.decode()

    # then every link is listed with its scope and state, without actions for a viewer
    row = lambda link: page.split(f'id="link-{link.public_id}"')[1].split("</tr>")[0]  # noqa: E731
    assert "Whole order" in row(issued.link) and "Active" in row(issued.link)
    assert "Line 10" in row(line_link.link) and "Field technician" in row(line_link.link)
    assert "Revoked" in row(revoked) and "by clara" in row(revoked)
    assert "Expired" in row(expired)
    assert "/backoffice/links/" not in page


def test_a_supervisor_revokes_a_link_and_it_stops_working(client, emea, order, issued):
    supervisor = _person("supervisor", emea)
    client.force_login(supervisor)

    response = client.post(f"/backoffice/links/{issued.link.public_id}/revoke/", {"confirmed": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/orders/{order.pk}/#status-links"
    issued.link.refresh_from_db()
    assert issued.link.revoked_by == supervisor
    assert client.get(issued.path).status_code == 410
    page = client.get(response["Location"]).content.decode()
    assert "by supervisor" in page.split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]


def test_revoking_asks_first_naming_the_link(client, emea, order, issued):
    client.force_login(_person("supervisor", emea))

    response = client.post(f"/backoffice/links/{issued.link.public_id}/revoke/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Revoke this status link?" in page
    facts = page.split('id="revoke-link"')[1].split("</dl>")[0]
    assert "Customer" in facts and "Whole order" in facts
    assert "Last opened" in facts  # as the order page's table says it
    assert f'href="/backoffice/orders/{order.pk}/#status-links" id="revoke-cancel"' in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    issued.link.refresh_from_db()
    assert issued.link.revoked_at is None
    assert client.get(issued.path).status_code == 200


def test_opening_the_revoke_address_shows_the_page_that_asks_naming_the_order(client, emea, order, issued):
    # given a supervisor opens the revoke address (a reload, a pasted address) instead of posting
    client.force_login(_person("supervisor", emea))

    response = client.get(f"/backoffice/links/{issued.link.public_id}/revoke/")

    # then the page asks first, styled as the back office's other pages, naming the order
    page = response.content.decode()
    assert response.status_code == 200 and "Revoke this status link?" in page
    assert '<dl class="bo-facts" id="revoke-link">' in page
    facts = page.split('id="revoke-link"')[1].split("</dl>")[0]
    assert "<dt>Order</dt>" in facts and "SO-4711" in facts and order.account.name in facts
    form = page.split('id="revoke-link"')[1].split("</form>")[0]
    assert f'<form method="post" action="/backoffice/links/{issued.link.public_id}/revoke/" class="bo-form">' in form
    assert 'name="csrfmiddlewaretoken"' in form and '<input type="hidden" name="confirmed" value="1">' in form
    # and opening it revoked nothing, even with the confirmation in the address
    client.get(f"/backoffice/links/{issued.link.public_id}/revoke/", {"confirmed": "1"})
    issued.link.refresh_from_db()
    assert issued.link.revoked_at is None
    assert client.get(issued.path).status_code == 200


def test_opening_the_revoke_address_of_a_revoked_link_says_it_was_revoked_before(client, emea, order, issued):
    # given a link a supervisor revoked
    client.force_login(_person("supervisor", emea))
    client.post(f"/backoffice/links/{issued.link.public_id}/revoke/", {"confirmed": "1"})
    client.get(f"/backoffice/orders/{order.pk}/")  # the revocation's own message, shown once

    # when the revoke address is opened again later
    response = client.get(f"/backoffice/links/{issued.link.public_id}/revoke/", follow=True)

    # then the order page says the link was revoked before, not that this visit revoked it
    page = response.content.decode()
    assert "This link was already revoked" in page
    assert "The link is revoked: it no longer opens the order." not in page


def test_a_planner_gives_a_link_a_new_token_shown_once_on_the_order_page(client, emea, order, issued):
    planner = _person("planner", emea)
    client.force_login(planner)

    # when the planner asks for a new token
    response = client.post(f"/backoffice/links/{issued.link.public_id}/rotate/")

    # then the browser is sent back to the order page (a reload or a language switch is harmless)
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/orders/{order.pk}/#status-links"
    issued.link.refresh_from_db()
    successor = issued.link.replaced_by
    assert issued.link.revoked_by == planner and successor.issued_by == planner
    assert client.get(issued.path).status_code == 410
    # the new address is shown there once, and it works
    page = client.get(response["Location"]).content.decode()
    new_url = page.split('id="new-link" readonly size="60" value="')[1].split('"')[0]
    assert new_url.startswith("http://testserver/s/")
    assert client.get(new_url.removeprefix("http://testserver")).status_code == 200
    assert 'id="new-link"' not in client.get(response["Location"]).content.decode()
    # a reload of the action's address rotates nothing
    again = client.get(f"/backoffice/links/{issued.link.public_id}/rotate/")
    assert again.status_code == 302
    assert StatusLink.objects.filter(order=order).count() == 2


def test_a_viewer_may_not_revoke(client, emea, order, issued):
    client.force_login(_person("viewer", emea))

    response = client.post(f"/backoffice/links/{issued.link.public_id}/revoke/")

    assert response.status_code == 403
    issued.link.refresh_from_db()
    assert issued.link.revoked_at is None


def test_a_link_of_an_order_outside_the_scope_is_not_found(client, emea, issued):
    client.force_login(_person("supervisor", RegionFactory(code="apac", name="Asia Pacific")))

    for action in ("revoke", "rotate"):
        assert client.post(f"/backoffice/links/{issued.link.public_id}/{action}/").status_code == 404
        assert client.get(f"/backoffice/links/{issued.link.public_id}/{action}/").status_code == 404
    issued.link.refresh_from_db()
    assert issued.link.revoked_at is None and issued.link.replaced_by is None


def test_a_replaced_link_stays_listed_as_replaced_with_who_and_its_successor(client, emea, order, issued):
    # given a planner replaced the order's link
    planner = _person("planner", emea)
    client.force_login(planner)
    client.post(f"/backoffice/links/{issued.link.public_id}/rotate/")
    issued.link.refresh_from_db()
    successor = issued.link.replaced_by

    # when the order page is read
    page = client.get(f"/backoffice/orders/{order.pk}/").content.decode()

    # then the replaced link is still there, right after its successor, saying by whom and which
    listed = re.findall(r'<tr class="status-link" id="link-([0-9a-f-]+)"', page)
    assert listed == [str(successor.public_id), str(issued.link.public_id)]
    state = page.split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]
    assert "Replaced" in state and "by planner" in state
    assert f'href="#link-{successor.public_id}"' in state
    assert client.get(issued.path).status_code == 410


@pytest.mark.parametrize("confirmed", ["0", "no", "true"])
def test_revoking_happens_only_with_the_confirmation_the_page_sends(client, emea, order, issued, confirmed):
    client.force_login(_person("supervisor", emea))

    response = client.post(f"/backoffice/links/{issued.link.public_id}/revoke/", {"confirmed": confirmed})

    assert response.status_code == 200 and "Revoke this status link?" in response.content.decode()
    assert client.get(issued.path).status_code == 200


def test_a_link_that_still_works_stays_listed_behind_many_replaced_ones(client, emea, order, issued):
    # given an older link that still works, and many newer links replaced one after another
    StatusLink.objects.filter(pk=issued.link.pk).update(issued_at=timezone.now() - timedelta(days=3))
    planner = _person("planner", emea)
    replaced = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN).link
    for _ in range(51):
        replaced = status_link_rotate(link=replaced, rotated_by=planner).link
    client.force_login(planner)

    page = client.get(f"/backoffice/orders/{order.pk}/").content.decode()

    # then the working links are listed, the newest 50 ended ones too, and the page says so
    rows = re.findall(r'<tr class="status-link" id="link-([0-9a-f-]+)"', page)
    assert str(issued.link.public_id) in rows and str(replaced.public_id) in rows
    assert len(rows) == 2 + 50
    assert "of the revoked, replaced and expired ones, only the newest 50 are." in page


def _listed(page: str) -> list[str]:
    return re.findall(r'<tr class="status-link" id="link-([0-9a-f-]+)"', page)


def _order_page_queries(client, order, query: str = "") -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/backoffice/orders/{order.pk}/{query}").status_code == 200
    return len(queries)


def test_a_fleets_many_working_links_are_listed_a_page_at_a_time(client, emea, order, issued):
    # given an order whose messages reached a fleet: 130 working links and a revoked one
    client.force_login(_person("supervisor", emea))
    client.get(f"/backoffice/orders/{order.pk}/")  # what is read once and kept (labels, ...) is read
    queries_with_one_link = _order_page_queries(client, order)
    for _ in range(129):
        status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    revoked = status_link_issue(order=order, audience=LinkAudience.CUSTOMER).link
    StatusLink.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    every_link = {
        str(public_id) for public_id in StatusLink.objects.filter(order=order).values_list("public_id", flat=True)
    }

    # when a supervisor opens the order, then its second page of links
    first = client.get(f"/backoffice/orders/{order.pk}/").content.decode()
    second = client.get(f"/backoffice/orders/{order.pk}/?links_page=2").content.decode()

    # then the first page lists 100 links, says how many there are and leads to the rest
    assert len(_listed(first)) == 100
    assert "Links 1–100 of 131" in first and "Page 1 of 2" in first
    assert '<a href="?links_page=2#status-links" rel="next">Older links</a>' in first
    # and the second lists the others, leading back, so every link is on exactly one page
    assert len(_listed(second)) == 31 and "Links 101–131 of 131" in second
    assert '<a href="?links_page=1#status-links" rel="prev">Newer links</a>' in second
    assert set(_listed(first)) | set(_listed(second)) == every_link
    german = client.get(f"/backoffice/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Links 1–100 von 131" in german and "Ältere Links" in german
    # and a page past the last, or nonsense, shows the last or the first
    assert _listed(client.get(f"/backoffice/orders/{order.pk}/?links_page=9").content.decode()) == _listed(second)
    assert _listed(client.get(f"/backoffice/orders/{order.pk}/?links_page=x").content.decode()) == _listed(first)
    # and reading them costs no more queries than an order with one link
    assert _order_page_queries(client, order) == queries_with_one_link
    assert _order_page_queries(client, order, "?links_page=2") == queries_with_one_link


def test_revoking_a_link_on_a_later_page_returns_to_that_page(client, emea, order, issued):
    for _ in range(110):
        status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    client.force_login(_person("supervisor", emea))
    second = client.get(f"/backoffice/orders/{order.pk}/?links_page=2").content.decode()
    last = _listed(second)[-1]
    row = second.split(f'id="link-{last}"')[1].split("</tr>")[0]
    assert '<input type="hidden" name="links_page" value="2">' in row

    # when the supervisor revokes it: the page asking first goes back to page 2 too
    asked = client.post(f"/backoffice/links/{last}/revoke/", {"links_page": "2"}).content.decode()
    assert f'href="/backoffice/orders/{order.pk}/?links_page=2#status-links" id="revoke-cancel"' in asked
    assert '<input type="hidden" name="links_page" value="2">' in asked
    done = client.post(f"/backoffice/links/{last}/revoke/", {"links_page": "2", "confirmed": "1"})

    # then they are back on the page they were reading
    assert done["Location"] == f"/backoffice/orders/{order.pk}/?links_page=2#status-links"
    assert StatusLink.objects.get(public_id=last).revoked_at is not None
