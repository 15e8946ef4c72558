"""Findings of a second hostile review (the versioned views, config.auth/config.sessions, the
WITH-clause scope, held shipped lines in the summary), each mended: every test states what a
user depends on."""

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from orders.models import ContactRole, Order, OrderContact
from portal.models import LinkAudience
from portal.services.links import status_link_issue
from tests.admin_forms import form_as_shown
from tests.factories import OrderFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db

OLD_BACKEND = "django.contrib.auth.backends.ModelBackend"


def test_a_line_moved_to_another_site_in_the_admin_shows_on_the_technicians_link(order, showcase, technician):
    """Finding: OrderLineAdmin lets staff change a line's site, ETA and tracking number; no outbox
    event, no shipment, no order save: the view's version is unchanged, so the technician is
    sent to the old site until the view entry expires (600 s, plus 300 s of page cache)."""
    issued = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN)
    before = Client().get(issued.path).content.decode()
    assert showcase["20"].site.name in before and "Werk Süd" not in before

    line = showcase["20"]
    moved_to = SiteFactory(name="Werk Süd")
    staff = Client()
    staff.force_login(UserFactory(username="integrator", is_staff=True, is_superuser=True))
    url = reverse("admin:orders_orderline_change", args=[line.pk])
    shown = form_as_shown(staff.get(url).content.decode())
    answer = staff.post(url, {**shown, "site": str(moved_to.pk)})  # as the admin's form posts it
    assert answer.status_code == 302, answer.content.decode()[:2000]

    assert "Werk Süd" in Client().get(issued.path).content.decode()


def test_a_session_the_previous_release_signed_in_after_the_migration_stays_signed_in(order, showcase, customer):
    """Finding: 0014 rewrites the sessions stored when it runs; a person signed in by a process
    of the previous release after that (a rolling restart), or a session restored from a backup,
    still names Django's ModelBackend, which is no longer in AUTHENTICATION_BACKENDS: signed out,
    although the commit says the release signs nobody out."""
    client = Client()
    client.force_login(customer, backend=OLD_BACKEND)

    response = client.get(f"/portal/orders/{order.public_id}/")

    assert response.status_code == 200


def test_a_technicians_phone_changed_does_not_move_the_order_up_the_customers_list(
    order, showcase, customer, customer_account, technician
):
    """Finding: freshness touches Order.updated_at for a contact saved; the customer's list is
    "newest change first" (-updated_at), so an order whose technician contact changed (which
    the customer's page does not show at all) jumps above orders that really changed."""
    newer = OrderFactory(account=customer_account, number="ORD-NEWER")
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(days=2))
    client = Client()
    client.force_login(customer)
    listed = client.get("/portal/").content.decode()
    assert listed.index(newer.number) < listed.index(order.number)

    contact = OrderContact.objects.get(order=order, role=ContactRole.TECHNICIAN)
    contact.phone = "+4915199999999"
    contact.save()

    listed = client.get("/portal/").content.decode()
    assert listed.index(newer.number) < listed.index(order.number)


@pytest.mark.skipif(isinstance(caches["default"], RedisCache), reason="Redis expires by its own clock")
def test_a_part_description_edited_shows_within_the_quarter_hour_promised(order, showcase, customer):
    """Finding: the commit says reference data (a part's description, a site's or an account's
    name, an asset) shows within 10 minutes (CACHE_SECONDS = 600), but the order body is also
    cached as a template fragment ({% cache 3600 order-body ... %} in order_body.html) under the
    same view version: the old text is served for up to an hour."""
    part = showcase["20"].part
    path = f"/portal/orders/{order.public_id}/"
    with freeze_time(timezone.now()) as clock:
        client = Client()
        client.force_login(customer)
        assert part.description in client.get(path).content.decode()  # view, fragment and page built
        part.description = "Coolant pump, revised"
        part.save()
        clock.tick(660)  # the view entry (600 s) and the page (300 s) have expired
        eleven_minutes = client.get(path).content.decode()
        clock.tick(3000)
        an_hour = client.get(path).content.decode()

        assert "Coolant pump, revised" in an_hour  # the page does show it, once the fragment expired
        assert "Coolant pump, revised" in eleven_minutes


def test_the_order_pages_with_clause_scope_agrees_with_accounts_followed_by(order, customer, dealer, dealer_account):
    """Checked, no finding: portal_order_seen's WITH clause gives the same orders and dealer flag
    as accounts_followed_by for a direct grant, a group grant, a dealer, a superuser, a stranger
    and nobody signed in, on an order of a followed account and of another."""
    from django.contrib.auth.models import AnonymousUser, Group
    from guardian.shortcuts import assign_perm

    from orders.scoping import orders_visible_to_customer
    from portal.selectors import follows_a_dealer, portal_order_seen
    from tests.factories import AccountFactory, UserFactory

    group_member = UserFactory(username="member")
    group = Group.objects.create(name="Quarry staff")
    group.user_set.add(group_member)
    assign_perm("orders.follow_account_orders", group, order.account)
    other = OrderFactory(account=AccountFactory(name="Elsewhere"), number="ORD-ELSEWHERE")
    people = [customer, dealer, group_member, UserFactory(is_superuser=True), UserFactory(), AnonymousUser()]
    for person in people:
        for shown in (order, other):
            seen = portal_order_seen(person, shown.public_id)
            visible = orders_visible_to_customer(person).filter(pk=shown.pk).exists()
            assert (seen is not None) == visible, (person, shown)
            if seen is not None:
                assert seen.dealer_view == follows_a_dealer(person), person


def test_config_auth_refuses_whom_djangos_get_user_refuses(order, showcase, customer, settings):
    """Checked, no finding: a session whose person was deactivated, changed their password or was
    deleted is signed out; one signed under a SECRET_KEY_FALLBACKS key stays signed in."""
    from tests.factories import UserFactory

    path = f"/portal/orders/{order.public_id}/"
    client = Client()
    client.force_login(customer)
    assert client.get(path).status_code == 200
    customer.set_password("a whole new secret 42")
    customer.save()
    assert client.get(path).status_code == 302

    client.force_login(customer)
    customer.is_active = False
    customer.save()
    assert client.get(path).status_code == 302

    gone = UserFactory(username="gone")
    client.force_login(gone)
    gone.delete()
    assert client.get(path).status_code == 302

    customer.is_active = True
    customer.save()
    client.force_login(customer)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a rotated key " + "x" * 50
    assert client.get(path).status_code == 200


def test_the_migration_renames_live_sessions_both_ways_and_skips_unreadable_ones():
    """Checked, no finding: 0014 rewrites a live session's backend (and back), leaves an expired
    or undecodable one as it was; config.sessions loads no expired session."""
    from importlib import import_module

    from django.apps import apps
    from django.contrib.sessions.models import Session

    from config.sessions import SessionStore

    migration = import_module("orders.migrations.0014_sessions_name_our_backend")
    live = SessionStore()
    live.update({"_auth_user_id": "1", "_auth_user_backend": OLD_BACKEND, "_auth_user_hash": "x"})
    live.create()
    Session.objects.create(session_key="b" * 32, session_data="not signed", expire_date=timezone.now() + timedelta(1))
    expired = SessionStore()
    expired.update({"_auth_user_backend": OLD_BACKEND})
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(1))

    migration.forwards(apps, None)
    assert SessionStore(live.session_key).load()["_auth_user_backend"] == "config.auth.ModelBackend"
    assert Session.objects.get(session_key="b" * 32).session_data == "not signed"
    stored = Session.objects.get(session_key=expired.session_key)
    assert SessionStore().decode(stored.session_data)["_auth_user_backend"] == OLD_BACKEND
    assert SessionStore(expired.session_key).load() == {}  # config.sessions: an expired one is none
    migration.backwards(apps, None)
    stored = Session.objects.get(session_key=live.session_key)
    assert SessionStore().decode(stored.session_data)["_auth_user_backend"] == OLD_BACKEND
