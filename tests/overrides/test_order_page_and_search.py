"""Finding and seeing: the back office's search (exact hits open their page, scope as
everywhere) and the order page (header, split tree, shipments, timeline, override forms)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm

from orders.models import Issuer, LineReference, StatusEvent
from orders.services import Actor, SplitPart, split_line
from orders.services.shipments import ShipmentData, shipment_record
from tests.factories import AssetFactory, OrderFactory, OrderLineFactory, PartFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def emea(db):
    return RegionFactory(code="emea", name="Europe, Middle East and Africa")


@pytest.fixture
def apac(db):
    return RegionFactory(code="apac", name="Asia Pacific")


@pytest.fixture
def planner(emea):
    user = UserFactory(username="planner")
    user.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", user, emea)
    return user


def _order(region, **kwargs):
    return OrderFactory(account__region=region, **kwargs)


def _shipped(line, t0, *, tracking: str, carrier: str = "UPSN"):
    return shipment_record(
        line_id=line.pk,
        quantity=line.quantity,
        data=ShipmentData(carrier=carrier, tracking_number=tracking, bill_of_lading=f"BOL-{tracking}"),
        source_system="EWM-RTM",
        occurred_at=t0,
    )


def test_a_tracking_number_opens_the_line_it_ships(client, planner, emea, t0):
    # given a line shipped under a UPS tracking number
    line = OrderLineFactory(order=_order(emea))
    _shipped(line, t0, tracking="1Z999AA10123456784")
    client.force_login(planner)

    # when the planner searches for it, in lower case
    response = client.get("/backoffice/search/", {"q": " 1z999aa10123456784 "})

    # then the exact hit opens the line's page directly
    assert response.status_code == 302
    assert response["Location"] == f"/backoffice/lines/{line.pk}/"


@pytest.mark.parametrize("searched", ["order_number", "customer_reference", "asset", "bill_of_lading"])
def test_an_order_level_number_opens_the_order_page(client, planner, emea, t0, searched):
    # given an order of two lines, for an asset, with a PO, both lines on one shipment
    order = _order(emea, number="SO-4711", customer_reference="PO-88812", asset=AssetFactory(serial_number="EX300-77"))
    first, second = OrderLineFactory(order=order), OrderLineFactory(order=order)
    shipment = _shipped(first, t0, tracking="TRK-1")
    _shipped(second, t0, tracking="TRK-1")
    client.force_login(planner)
    query = {
        "order_number": "SO-4711",
        "customer_reference": "po-88812",
        "asset": "EX300-77",
        "bill_of_lading": shipment.bill_of_lading,
    }[searched]

    # when the planner searches by that number
    response = client.get("/backoffice/search/", {"q": query})

    # then the order page opens
    assert (response.status_code, response["Location"]) == (302, f"/backoffice/orders/{order.pk}/")


def test_a_part_number_on_several_orders_lists_them_and_a_reference_finds_its_line(client, planner, emea, apac):
    # given a part on two orders in EMEA and one in Asia-Pacific, and a customer's PO kept on a line
    part = PartFactory(number="HV-2201")
    mine = [OrderLineFactory(order=_order(emea), part=part) for _ in range(2)]
    OrderLineFactory(order=_order(apac), part=part)
    LineReference.objects.create(
        line=mine[0], issuer_kind=Issuer.ACCOUNT, issuer="C1", kind="purchase_order", value="PO-1"
    )
    client.force_login(planner)

    # when the planner searches for the part, and for the PO
    listing = client.get("/backoffice/search/", {"q": "HV-2201"})
    by_reference = client.get("/backoffice/search/", {"q": "PO-1"})

    # then both EMEA lines are listed (never the one out of scope), and the PO opens its line
    assert listing.status_code == 200
    assert {hit.line for hit in listing.context["hits"]} == set(mine)
    assert by_reference["Location"] == f"/backoffice/lines/{mine[0].pk}/"


def test_a_number_out_of_scope_is_not_found(client, planner, apac):
    # given an order in Asia-Pacific
    _order(apac, number="SO-9999")
    client.force_login(planner)

    # when the EMEA planner searches for it
    response = client.get("/backoffice/search/", {"q": "SO-9999"})

    # then nothing is found, as for a number that does not exist
    assert response.status_code == 200
    assert response.context["hits"] == []
    assert "Nothing in your scope has this number" in response.content.decode()


def test_the_search_runs_the_same_queries_for_few_or_many_matches(client, planner, emea):
    part = PartFactory(number="HV-1")
    OrderLineFactory(order=_order(emea), part=part)
    OrderLineFactory(order=_order(emea), part=part)
    client.force_login(planner)
    client.get("/backoffice/search/", {"q": "HV-1"})  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/backoffice/search/", {"q": "HV-1"}).context["hits"]) == 2

    for _ in range(10):
        OrderLineFactory(order=_order(emea), part=part)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/backoffice/search/", {"q": "HV-1"}).context["hits"]) == 12

    assert len(many) == len(few)


def _order_with_split_and_shipment(region, planner, advance, t0, *, extra_lines: int = 0):
    order = _order(region, customer_reference="PO-5", asset=AssetFactory())
    line = OrderLineFactory(order=order, quantity=4, number="10")
    advance(line, "released")
    shipped, rest = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.person(planner))
    advance(shipped, "shipped")
    _shipped(shipped, t0, tracking="1Z12345E0205271688")
    for index in range(extra_lines):
        advance(OrderLineFactory(order=order, number=str(20 + 10 * index)), "released")
    return order, line, shipped, rest


def test_the_order_page_shows_header_split_tree_shipments_and_timeline(client, planner, emea, advance, t0):
    # given an order whose line was split, one child shipped by UPS
    order, line, shipped, rest = _order_with_split_and_shipment(emea, planner, advance, t0)
    client.force_login(planner)

    # when the planner opens the order
    response = client.get(f"/backoffice/orders/{order.pk}/")

    # then the header, the line with its two children, the shipment with the carrier's tracking link
    # and every event are there, with an override form for each leaf line but not the split one
    page = response.content.decode()
    assert response.status_code == 200
    for text in (order.account.name, order.asset.serial_number, "PO-5", order.get_priority_display()):
        assert text in page
    assert [row.line for row in response.context["rows"]] == [line, shipped, rest]
    assert [row.depth for row in response.context["rows"]] == [0, 1, 1]
    assert 'href="https://www.ups.com/track?tracknum=1Z12345E0205271688"' in page
    assert f'href="/backoffice/lines/{shipped.pk}/"' in page
    timeline = list(response.context["events"])
    assert {event.line for event in timeline} >= {line, shipped}  # the merged timeline of every line
    assert len(timeline) == StatusEvent.objects.filter(line__order=order).count()
    assert [row.line for row in response.context["rows"] if row.form] == [shipped, rest]


def test_the_line_page_has_a_breadcrumb_back_to_its_order(client, planner, emea, advance, t0):
    order, line, shipped, _rest = _order_with_split_and_shipment(emea, planner, advance, t0)
    client.force_login(planner)

    page = client.get(f"/backoffice/lines/{shipped.pk}/").content.decode()

    crumbs = page.split('class="bo-breadcrumbs"')[1].split("</nav>")[0]
    assert f'href="/backoffice/orders/{order.pk}/"' in crumbs and f'href="/backoffice/lines/{line.pk}/"' in crumbs


def test_an_order_out_of_scope_is_404(client, planner, apac):
    order = _order(apac)
    client.force_login(planner)

    assert client.get(f"/backoffice/orders/{order.pk}/").status_code == 404


def test_an_override_from_the_order_page_comes_back_to_it(client, planner, emea, advance, t0):
    # given an order page with a released line
    order, _line, _shipped_child, rest = _order_with_split_and_shipment(emea, planner, advance, t0)
    client.force_login(planner)

    # when the planner asks, from the order page, to allocate the rest
    response = client.post(
        f"/backoffice/lines/{rest.pk}/",
        {
            "form_prefix": f"line-{rest.pk}",
            f"line-{rest.pk}-target_status": "allocated",
            f"line-{rest.pk}-reason": "data_correction",
            f"line-{rest.pk}-justification": "Reserved by phone with the DC.",
            "next": f"/backoffice/orders/{order.pk}/",
        },
    )

    # then it is applied and the planner is back on the order page
    rest.refresh_from_db()
    assert rest.status == "allocated"
    assert response["Location"] == f"/backoffice/orders/{order.pk}/#messages"


def test_the_order_page_runs_the_same_queries_for_few_or_many_lines(client, planner, emea, advance, t0):
    small, *_rest = _order_with_split_and_shipment(emea, planner, advance, t0)
    large, *_rest = _order_with_split_and_shipment(emea, planner, advance, t0 + timedelta(hours=1), extra_lines=6)
    client.force_login(planner)
    # warm caches (content types, reasons, and each order's customer view, built once per change)
    for order in (small, large):
        client.get(f"/backoffice/orders/{order.pk}/")

    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/backoffice/orders/{small.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"/backoffice/orders/{large.pk}/").status_code == 200

    assert len(many) == len(few)
