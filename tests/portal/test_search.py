"""Portal search as customers type numbers: without dashes or spaces, in any case, by their
beginning (order numbers and POs by their last digits too), tracking numbers included; only ever
within the viewer's own orders."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "query",
    ["88123", "po 88123", "PO88123", "HV2040", "hv 2040", "1Z999AA10123456784", "1z 999 aa1 0123456784", "ex300 0042"],
)
def test_numbers_as_customers_remember_them_find_the_order(order, showcase, customer, query):
    response = _client(customer).get("/portal/", {"q": query})

    assert response.status_code == 302
    assert response["Location"] == f"/portal/orders/{order.public_id}/"


def test_an_order_number_is_found_by_its_last_digits(order, showcase, customer):
    digits = order.number.split("-")[-1][-5:]

    response = _client(customer).get("/portal/", {"q": digits})

    assert response["Location"] == f"/portal/orders/{order.public_id}/"


def test_a_tracking_number_reveals_nothing_outside_the_viewers_orders(order, showcase, other_customer):
    response = _client(other_customer).get("/portal/", {"q": "1Z999AA10123456784"})

    page = response.content.decode()
    assert response.status_code == 200
    assert order.number not in page and str(order.public_id) not in page
    assert "No order of yours matches “1Z999AA10123456784”." in page


def test_short_queries_match_whole_values_only(order, showcase, customer):
    page = _client(customer).get("/portal/", {"q": "42"}).content.decode()

    assert "No order of yours matches “42”." in page
    assert "0 orders found" not in page
