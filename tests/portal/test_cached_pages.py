"""Order pages and status-link pages are served whole from the cache (portal.page_cache). What
a reader depends on: the page they get is the one the order, its links, its brand, their
language and their own scope give now; never another person's, never a stale one; the link's
token and the CSRF token are never stored, and a page served from the cache works like a
rendered one (its forms post, its live feed answers)."""

import pickle
import re
from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import _caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from orders.services import Provenance, apply_status_update
from portal import page_cache
from portal.models import LinkAudience, LinkPurpose, PortalProfile, StatusLink
from portal.services.links import status_link_issue, status_link_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(user=None, **headers) -> Client:
    client = Client(**headers)
    if user is not None:
        client.force_login(user)
    return client


def _page(client, order, **params) -> str:
    response = client.get(f"/portal/orders/{order.public_id}/", params)
    assert response.status_code == 200
    return response.content.decode()


def _status_text(page: str) -> str:
    return re.search(r'<strong id="order-status"[^>]*>([^<]*)<', page).group(1)


def _cached_pages() -> list[str]:
    """Every whole page in the cache, as stored (Redis, or the local-memory cache)."""
    if isinstance(caches["default"], RedisCache):
        keys = caches["default"]._cache.get_client().keys("*portal-page:*")
        entries = [cache.get(key.decode().split(":", 2)[-1]) for key in keys]  # ":1:portal-page:…"
    else:
        entries = [
            pickle.loads(value) for store in _caches.values() for key, value in store.items() if "portal-page:" in key
        ]
    return [entry for entry in entries if isinstance(entry, str)]


def test_a_status_change_shows_on_the_next_read(order, showcase, customer, sap, t0):
    client = _client(customer)
    assert _status_text(_page(client, order)) == _status_text(_page(client, order))  # the second from the cache

    for line in showcase.values():
        if not line.is_split and line.status not in ("delivered", "in_transit"):
            apply_status_update(
                line_id=line.pk,
                status="cancelled",
                occurred_at=t0 + timedelta(hours=5),
                actor=sap,
                provenance=Provenance(source_system="SAP-ERP"),
            )

    page = _page(client, order)
    assert "Cancelled" in page
    assert page.count("Cancelled") >= 2  # both lines' rows, not only the timeline


def test_a_new_revoked_or_opened_link_shows_on_the_next_read(order, showcase, customer):
    client = _client(customer)
    assert "No links yet." in _page(client, order)

    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    page = _page(client, order)
    assert f'id="link-{issued.link.public_id}"' in page
    assert "—" in page.split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]  # never opened

    assert Client().get(issued.path).status_code == 200
    row = _page(client, order).split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]
    assert "—" not in row  # "Last opened" is now a time

    status_link_revoke(link=StatusLink.objects.get(pk=issued.link.pk), revoked_by=customer)
    row = _page(client, order).split(f'id="link-{issued.link.public_id}"')[1].split("</tr>")[0]
    assert "Revoked" in row


def test_an_edited_expiry_shows_on_the_next_read(order, showcase, customer):
    client = _client(customer)
    first = status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    status_link_issue(order=order, audience=LinkAudience.CUSTOMER, issued_by=customer)
    before = _page(client, order)

    StatusLink.objects.filter(pk=first.link.pk).update(expires_at=timezone.now() + timedelta(days=400))

    after = _page(client, order)
    assert after != before
    assert str((timezone.now() + timedelta(days=400)).year) in after


def test_a_brand_saved_shows_on_the_next_read(order, showcase, customer, customer_account):
    client = _client(customer)
    _page(client, order)

    PortalProfile.objects.create(account=customer_account, brand_name="Nordhafen Service")

    assert "Nordhafen Service" in _page(client, order)


def test_each_person_gets_their_own_page_and_scope_is_checked_every_time(order, showcase, customer, dealer):
    customer_page = _page(_client(customer), order)
    dealer_page = _page(_client(dealer), order)

    assert "Your reference" in customer_page and "Customer reference" not in customer_page
    assert "Customer reference" in dealer_page
    assert 'class="pt-username"' in dealer_page and ">dealer<" in dealer_page and ">customer<" not in dealer_page

    remove_perm("orders.follow_account_orders", customer, order.account)
    assert _client(customer).get(f"/portal/orders/{order.public_id}/").status_code == 404


def test_a_person_granted_through_a_group_sees_the_order_and_loses_it_with_the_group(order, showcase):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Nordhafen buyers")
    assign_perm("orders.follow_account_orders", group, order.account)
    person = UserFactory(username="buyer")
    person.groups.add(group)
    client = _client(person)

    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 200

    person.groups.remove(group)
    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 404


def test_another_accounts_person_gets_404_for_a_cached_page(order, showcase, customer, other_customer):
    _page(_client(customer), order)

    assert _client(other_customer).get(f"/portal/orders/{order.public_id}/").status_code == 404


def test_the_language_and_the_timeline_asked_for_are_each_their_own_page(order, showcase, customer):
    english = _page(_client(customer, HTTP_ACCEPT_LANGUAGE="en"), order)
    german = _page(_client(customer, HTTP_ACCEPT_LANGUAGE="de"), order)

    assert '<html lang="en"' in english and '<html lang="de"' in german
    assert _page(_client(customer), order, timeline="all") != english


def test_a_cached_page_carries_a_working_csrf_token(order, showcase, customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    _page(client, order)  # rendered and cached
    page = _page(client, order)  # from the cache
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    response = client.post(
        f"/portal/orders/{order.public_id}/",
        {"csrfmiddlewaretoken": token, "audience": "customer", "purpose": "view", "line": ""},
    )

    assert response.status_code == 302
    assert StatusLink.objects.filter(order=order, issued_by=customer).count() == 1
    assert "csrf-token" not in page


def test_a_message_waiting_is_shown_once_on_the_page(order, showcase, customer):
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    client = _client(customer)
    _page(client, order)
    # As a page of the back office leaves one for the next page (in the messages cookie).
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Your preferences are saved.")])

    assert "Your preferences are saved." in _page(client, order)
    assert "Your preferences are saved." not in _page(client, order)


def test_a_status_links_page_carries_its_own_token_and_the_cache_holds_none(order, showcase, customer):
    first = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    second = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    token_of = {issued.path: issued.path.strip("/").split("/")[-1] for issued in (first, second)}

    pages = {path: Client().get(path).content.decode() for path in token_of}
    pages = {path: Client().get(path).content.decode() for path in token_of}  # from the cache

    for path, token in token_of.items():
        other = next(value for key, value in token_of.items() if key != path)
        assert f'data-ws-path="/ws/s/{token}/"' in pages[path]
        assert f'data-live-url="/s/{token}/live/"' in pages[path]
        assert other not in pages[path]
    stored = _cached_pages()
    assert stored and all("<html" in page for page in stored), "the whole pages are cached"
    kept_here = [html for html, _expires in page_cache._local._entries.values()]  # this process's own
    assert kept_here
    for token in token_of.values():
        assert all(token not in page for page in stored + kept_here)


def test_a_cached_link_page_feeds_and_confirms_with_its_own_token(order, showcase, technician):
    issued = status_link_issue(
        order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM, issued_by=None
    )
    token = issued.path.strip("/").split("/")[-1]
    client = Client()
    client.get(issued.path)
    page = client.get(issued.path).content.decode()  # from the cache

    confirm_url = re.search(r'data-url="([^"]*confirm/)"', page).group(1)
    live_url = re.search(r'data-live-url="([^"]+)"', page).group(1)

    assert confirm_url == f"/s/{token}/confirm/"
    assert client.get(live_url).status_code == 200


def test_a_line_link_and_a_whole_order_link_show_different_pages(order, showcase):
    whole = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    line = status_link_issue(order=order, line=showcase["20"], audience=LinkAudience.CUSTOMER)

    whole_page = Client().get(whole.path).content.decode()
    line_page = Client().get(line.path).content.decode()

    assert f'id="line-{showcase["30"].public_id}"' in whole_page
    assert f'id="line-{showcase["30"].public_id}"' not in line_page


def test_a_revoked_link_is_gone_even_when_its_page_was_cached(order, showcase, customer):
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
    assert Client().get(issued.path).status_code == 200

    status_link_revoke(link=issued.link, revoked_by=customer)

    assert Client().get(issued.path).status_code == 410


def test_made_up_query_parameters_are_answered_but_never_cached(order, showcase, customer):
    client = _client(customer)
    _page(client, order)
    cached = len(_cached_pages())

    for number in range(5):
        assert "Nordhafen" in _page(client, order, anything=str(number))

    assert len(_cached_pages()) == cached


def test_an_order_header_edited_in_the_admin_shows_on_the_next_read(order, showcase, customer):
    from orders.models import Order

    client = _client(customer)
    assert "PO-88123" in _page(client, order)
    edited = Order.objects.get(pk=order.pk)

    edited.customer_reference = "PO-99999"
    edited.save()  # as the admin's change form saves it

    page = _page(client, order)
    assert "PO-99999" in page and "PO-88123" not in page


def test_a_contact_removed_or_changed_is_gone_from_the_technicians_link_at_once(order, showcase, technician):
    from orders.models import ContactRole, OrderContact

    colleague = OrderContact.objects.create(
        order=order, role=ContactRole.REQUESTER, name="Lucía García", email="lucia@example.com"
    )
    issued = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN)
    assert "Lucía García" in Client().get(issued.path).content.decode()

    colleague.delete()
    contact = OrderContact.objects.get(order=order, role=ContactRole.TECHNICIAN)
    contact.phone = "+4915199999999"
    contact.save()

    page = Client().get(issued.path).content.decode()
    assert "Lucía García" not in page and "lucia@example.com" not in page
    assert "+4915199999999" in page and "+4915112345678" not in page


def test_a_hold_on_a_shipped_line_shows_in_the_summary_and_the_list(order, showcase, customer, sap, t0):
    apply_status_update(
        line_id=showcase["10.1"].pk,  # shipped, in transit
        status="on_hold",
        occurred_at=t0 + timedelta(hours=6),
        actor=sap,
        provenance=Provenance(source_system="SAP-ERP"),
    )
    client = _client(customer)

    summary = re.search(r'id="order-summary">([^<]*)<', _page(client, order)).group(1)
    listed = client.get("/portal/").content.decode()

    assert "On hold: 1" in summary
    assert "On hold: 1" in listed
