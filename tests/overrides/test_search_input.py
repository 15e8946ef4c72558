"""What a person types into the header's search box: a stray NUL or a pasted novel gets a clear
error, an empty search a hint, and the box never shows another page's filters."""

import re

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm

from orders.selectors import SEARCH_LIMIT
from tests.factories import AccountFactory, OrderFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="EMEA")


@pytest.fixture
def planner(emea):
    user = UserFactory(username="planner")
    user.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", user, emea)
    return user


def _search_box_value(response) -> str:
    return re.search(r'<input type="search" name="q" value="([^"]*)"', response.content.decode())[1]


def test_a_nul_character_in_the_search_is_a_clear_error(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when the search carries a NUL character (a paste from a broken export)
    response = client.get("/backoffice/search/", {"q": "SO-45\x0000004"})

    # then the page answers with an error on the search, not a failure
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()


def test_an_overlong_search_is_refused_and_the_heading_stays_short(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when 5,000 characters are searched for
    response = client.get("/backoffice/search/", {"q": "X" * 5000})

    # then the error says how long a search may be and the page does not repeat the text
    assert response.status_code == 400
    assert "at most 80 characters" in response.content.decode()
    heading = re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S)[1]
    assert "X" * 81 not in heading and "X" * 81 not in _search_box_value(response)


def test_an_empty_search_shows_how_to_search(client, planner):
    # given a planner signed in
    client.force_login(planner)

    # when she searches for nothing
    response = client.get("/backoffice/search/", {"q": "  "})

    # then the page says what to type instead of “Search: “””
    text = response.content.decode()
    assert response.status_code == 200
    assert "“”" not in text
    assert "Type a number to search for." in text
    assert "with their prefix" in text


def test_the_search_box_does_not_show_the_queues_filters(client, planner):
    # given a planner on the queue filtered to A parts, mine
    client.force_login(planner)

    # when the queue is shown
    response = client.get("/backoffice/", {"criticality": "A", "assigned": "mine"})

    # then the header's search box is empty
    assert _search_box_value(response) == ""


def test_the_search_box_keeps_what_was_searched(client, planner, emea):
    # given two orders of one customer reference (no single hit to open)
    account = AccountFactory(region=emea)
    OrderFactory.create_batch(2, account=account, customer_reference="PO-77")
    client.force_login(planner)

    # when the planner searches for it
    response = client.get("/backoffice/search/", {"q": "PO-77"})

    # then the search box still holds the reference
    assert _search_box_value(response) == "PO-77"


def test_a_customer_reference_on_many_orders_lists_a_bounded_number(client, planner, emea):
    # given more orders of one customer reference than a search lists
    account = AccountFactory(region=emea)
    OrderFactory.create_batch(SEARCH_LIMIT + 3, account=account, customer_reference="PO-BLANKET")
    client.force_login(planner)

    # when the planner searches for it
    response = client.get("/backoffice/search/", {"q": "PO-BLANKET"})

    # then the page lists at most the search's limit
    assert len(response.context["hits"]) == SEARCH_LIMIT
