"""Findings of a hostile review of the cached portal pages (portal.page_cache, the hand-written
scope SQL, cached preferences), each mended: every test is what a user or an operator depends
on, through HTTP."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models import Q
from django.test import Client, override_settings
from guardian.shortcuts import assign_perm, get_objects_for_user

from orders.models import Account
from orders.scoping import accounts_followed_by
from portal.branding import GENERATION_KEY
from portal.models import LinkAudience
from portal.services.links import status_link_issue
from tests.factories import AccountFactory, OrderFactory, UserFactory
from tests.portal.test_cached_pages import _cached_pages

pytestmark = pytest.mark.django_db

# A Redis nobody listens on: the cache down, the database up.
REDIS_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


def _client(user=None, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def test_query_strings_nobody_reads_do_not_each_store_a_whole_page(order, showcase, customer):
    """Finding: page_key hashes request.get_full_path(); every distinct ?anything= stores another
    whole page for 5 minutes (a signed-in person fills Redis, which also holds rate limits,
    brand generations and the channel layer)."""
    client = _client(customer)
    for n in range(20):
        assert client.get(f"/portal/orders/{order.public_id}/", {"utm": n}).status_code == 200

    assert len(_cached_pages()) <= 2


def test_signing_out_still_ends_the_session_while_redis_is_down(order, showcase, customer):
    """Finding: ViewerPreferencesMiddleware now reads the cache on every signed-in request and
    cached_db sessions delete from the cache: with Redis down, sign-out is a 500 (no
    Clear-Site-Data), before it was a 302 that ended the session in the database."""
    client = _client(customer)
    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 200

    with override_settings(CACHES=REDIS_DOWN):
        response = client.post("/portal/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'

    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 302  # to the sign-in page


def test_the_back_office_sign_in_works_while_redis_is_down(db):
    """Finding (same cause): with Redis down, nobody can sign in (cached_db's exists() and the
    preferences read raise) where the database alone sufficed before."""
    UserFactory(username="planner", password="a long passphrase 42", is_staff=True)
    client = _client()
    with override_settings(CACHES=REDIS_DOWN):
        response = client.post("/portal/login/", {"username": "planner", "password": "a long passphrase 42"})
    assert response.status_code == 302


def test_a_session_signed_in_before_this_release_stays_signed_in(order, showcase, customer):
    """Sessions signed in with Django's ModelBackend (its path stored in them) are rewritten by
    the migration to name config.auth.ModelBackend: the release signs nobody out."""
    from importlib import import_module

    from django.apps import apps
    from django.conf import settings

    migration = import_module("orders.migrations.0014_sessions_name_our_backend")
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session.update(
        {
            "_auth_user_id": str(customer.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": customer.get_session_auth_hash(),
        }
    )
    session.create()

    migration.forwards(apps, None)

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert client.get(f"/portal/orders/{order.public_id}/").status_code == 200


def test_a_follower_of_an_account_with_a_large_id_sees_its_orders(db):
    """Finding (PostgreSQL): _granted_account_ids casts guardian's object_pk to `integer` (32
    bits) while Account ids are bigint: an id past 2**31 is a 500 for its followers."""
    account = AccountFactory(pk=3_000_000_000, name="Big Id Mining")
    person = UserFactory(username="big-id-buyer")
    assign_perm("orders.follow_account_orders", person, account)
    order = OrderFactory(account=account)

    assert _client(person).get(f"/portal/orders/{order.public_id}/").status_code == 200


def test_a_status_link_opened_with_a_nul_in_its_user_agent_is_not_a_500(order, showcase):
    """Bad input is never a 500: PostgreSQL stores no NUL in text (the opening's log row)."""
    issued = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)

    assert _client(HTTP_USER_AGENT="Mozilla\x00/5.0").get(issued.path).status_code in (200, 400)


def test_the_scope_sql_follows_the_same_accounts_as_guardian(db):
    """Evidence (passes): the hand-written rule equals get_objects_for_user(accept_global_perms=
    False) plus the customers of a followed dealer, for user grants, group grants, a dealer, a
    global grant (ignored) and another permission (ignored)."""
    dealer = AccountFactory(kind=Account.Kind.DEALER)
    served = AccountFactory(dealer=dealer)
    by_user, by_group, unrelated = AccountFactory(), AccountFactory(), AccountFactory()
    person = UserFactory(username="matrix")
    group = Group.objects.create(name="matrix group")
    person.groups.add(group)
    assign_perm("orders.follow_account_orders", person, by_user)
    assign_perm("orders.follow_account_orders", group, by_group)
    assign_perm("orders.follow_account_orders", person, dealer)
    assign_perm("orders.follow_account_orders", person)  # global: never counts in the portal
    assign_perm("orders.work_for_account", person, unrelated)

    granted = get_objects_for_user(
        person, "orders.follow_account_orders", klass=Account, accept_global_perms=False, with_superuser=False
    )
    before = set(Account.objects.filter(Q(pk__in=granted.values("pk")) | Q(dealer__in=granted.values("pk"))))

    assert set(accounts_followed_by(person)) == before == {dealer, served, by_user, by_group}
    assert served in before and unrelated not in before


def test_an_account_moved_to_another_dealer_wears_that_dealers_brand_at_once(order, showcase, customer):
    from orders.models import Account
    from portal.models import PortalProfile

    client = _client(customer)
    assert "Alpen Service" not in client.get(f"/portal/orders/{order.public_id}/").content.decode()
    other_dealer = AccountFactory(name="Alpen Dealer", kind=Account.Kind.DEALER)
    PortalProfile.objects.create(account=other_dealer, brand_name="Alpen Service")
    account = Account.objects.get(pk=order.account_id)

    account.dealer = other_dealer
    account.save()

    assert "Alpen Service" in client.get(f"/portal/orders/{order.public_id}/").content.decode()


def test_a_brand_read_between_the_save_and_its_commit_is_not_kept(
    order, showcase, customer, customer_account, django_capture_on_commit_callbacks
):
    """The generation is renewed once the save commits: a page rendered while the transaction
    was open (a brand read as it was) is not served after it."""
    from portal.models import PortalProfile

    client = _client(customer)
    with django_capture_on_commit_callbacks(execute=True):
        PortalProfile.objects.create(account=customer_account, brand_name="Nordhafen Service")
        client.get(f"/portal/orders/{order.public_id}/")  # a read before the commit
        generation_inside = cache.get(GENERATION_KEY)

    assert cache.get(GENERATION_KEY) != generation_inside
    assert "Nordhafen Service" in client.get(f"/portal/orders/{order.public_id}/").content.decode()
