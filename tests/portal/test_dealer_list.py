"""A dealer's list mixes the orders of the customers they serve: each row names its customer,
the customer's PO is called the customer's reference, and the list filters or searches by customer."""

import pytest
from django.test import Client

from tests.factories import AccountFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def second_customer_order(dealer_account):
    other = AccountFactory(name="Agrícola Campos", dealer=dealer_account)
    order = OrderFactory(account=other, customer_reference="PO-CAMPOS-1")
    OrderLineFactory(order=order)
    return order


def test_each_row_names_its_customer_and_the_customers_reference(order, showcase, dealer, second_customer_order):
    page = _client(dealer).get("/portal/").content.decode()

    rows = page.split('class="pt-order-row"')[1:]
    assert len(rows) == 2
    assert any("Nordhafen Quarry" in row and order.number in row for row in rows)
    assert any("Agrícola Campos" in row and second_customer_order.number in row for row in rows)
    assert "Customer reference PO-88123" in " ".join(page.split())
    assert "Your reference" not in page


def test_the_dealer_filters_by_customer_and_finds_a_customer_by_name(
    order, showcase, dealer, second_customer_order, customer_account
):
    client = _client(dealer)

    filtered = client.get("/portal/", {"account": customer_account.number}).content.decode()
    by_name = client.get("/portal/", {"q": "nordhafen"})

    assert order.number in filtered and second_customer_order.number not in filtered
    assert by_name["Location"] == f"/portal/orders/{order.public_id}/"


def test_a_customer_sees_no_customer_filter_and_their_own_reference(order, showcase, customer, second_customer_order):
    client = _client(customer)

    page = client.get("/portal/").content.decode()
    elsewhere = client.get("/portal/", {"account": second_customer_order.account.number}).content.decode()

    assert 'name="account"' not in page and "Your reference" in page
    assert second_customer_order.number not in elsewhere


def test_the_dealers_order_page_says_customer_reference(order, showcase, dealer, customer):
    dealer_page = _client(dealer).get(f"/portal/orders/{order.public_id}/").content.decode()
    customer_page = _client(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    assert "Customer reference" in dealer_page and "Your reference" not in dealer_page
    assert "Your reference" in customer_page
