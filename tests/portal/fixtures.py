"""Personas of the portal (shared by tests/portal and tests/e2e): a customer person, a dealer person serving that customer's account,
a person of another customer, a field technician on the order's job; and an order built
through the core's services (a split line, a shipment, an internal status)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from guardian.shortcuts import assign_perm

from orders.models import Account, ContactRole, OrderContact, OrderLine
from orders.read_models.freshness import views_changed
from orders.services import Provenance, SplitPart, apply_status_update, split_line
from orders.services.shipments import ShipmentData, shipment_record
from tests.factories import AccountFactory, AssetFactory, OrderFactory, OrderLineFactory, UserFactory


def signed_in(user, language: str = "en") -> Client:
    """A browser signed in as `user`, asking for pages in `language`."""
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def etas_planned(order, showcase, t0, **days_by_line) -> None:
    """ETAs set on lines as a planner does in the admin ({"10_1": 2}: line 10.1 in two days)."""
    for number, days in days_by_line.items():
        line = showcase[number.replace("_", ".")]
        line.eta = t0 + timedelta(days=days)
        line.save(update_fields=["eta"])
    views_changed(order.pk)


def order_and_list_pages(client, order) -> tuple[str, str]:
    """The order's portal page and the portal's order list, as `client` reads them."""
    return (
        client.get(f"/portal/orders/{order.public_id}/").content.decode(),
        client.get("/portal/").content.decode(),
    )


@pytest.fixture(autouse=True)
def fresh_cache():
    """Views, pages, labels and rate-limit counters of one test never serve another."""
    from portal.page_cache import local_pages_clear

    cache.clear()
    local_pages_clear()
    yield
    cache.clear()
    local_pages_clear()


@pytest.fixture
def dealer_account(db):
    return AccountFactory(name="Hansa Dealer", kind=Account.Kind.DEALER)


@pytest.fixture
def customer_account(dealer_account):
    return AccountFactory(name="Nordhafen Quarry", dealer=dealer_account)


@pytest.fixture
def customer(customer_account):
    user = UserFactory(username="customer")
    assign_perm("orders.follow_account_orders", user, customer_account)
    return user


@pytest.fixture
def dealer(dealer_account):
    user = UserFactory(username="dealer")
    assign_perm("orders.follow_account_orders", user, dealer_account)
    return user


@pytest.fixture
def other_customer(db):
    user = UserFactory(username="other-customer")
    assign_perm("orders.follow_account_orders", user, AccountFactory(name="Elsewhere Mining"))
    return user


@pytest.fixture
def order(customer_account):
    return OrderFactory(
        account=customer_account,
        customer_reference="PO-88123",
        asset=AssetFactory(account=customer_account, serial_number="EX300-0042"),
    )


@pytest.fixture
def technician(order):
    user = UserFactory(username="technician")
    OrderContact.objects.create(
        order=order, role=ContactRole.TECHNICIAN, user=user, name="Tomas Field", phone="+4915112345678"
    )
    return user


@pytest.fixture
def showcase(order, t0, sap):
    """Line 10 (4 pieces) split: 10.1 (3) shipped with UPS and in transit, 10.2 (1) awaiting part;
    line 20 awaiting kitting (internal); line 30 delivered."""
    line_10 = OrderLineFactory(order=order, number="10", quantity=4, part__number="HV-2040", start_occurred_at=t0)
    line_20 = OrderLineFactory(order=order, number="20", quantity=2, part__number="SK-118", start_occurred_at=t0)
    line_30 = OrderLineFactory(order=order, number="30", quantity=6, part__number="FL-900", start_occurred_at=t0)
    minute = iter(range(1, 100))

    def step(line, status):
        apply_status_update(
            line_id=line.pk,
            status=status,
            occurred_at=t0 + timedelta(minutes=next(minute)),
            actor=sap,
            provenance=Provenance(source_system="SAP-ERP"),
        )

    for line in (line_10, line_20, line_30):
        step(line, "released")
    shipped, waiting = split_line(
        line_id=line_10.pk, parts=[SplitPart(quantity=3)], actor=sap, occurred_at=t0 + timedelta(minutes=next(minute))
    )
    step(shipped, "shipped")
    shipment_record(
        line_id=shipped.pk,
        quantity=3,
        data=ShipmentData(carrier="UPSN", tracking_number="1Z999AA10123456784", location="Venlo hub"),
        source_system="SAP-ERP",
        occurred_at=t0 + timedelta(minutes=next(minute)),
    )
    step(shipped, "in_transit")
    step(waiting, "awaiting_part")
    step(line_20, "picking")
    step(line_20, "awaiting_kitting")
    for status in ("shipped", "delivered"):
        step(line_30, status)
    lines = {line.number: line for line in OrderLine.objects.filter(order=order)}
    order.refresh_from_db()
    return lines
