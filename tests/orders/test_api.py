"""API v1: order list with filters and cursor pagination, order detail, status vocabulary."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderLine, StatusEvent
from orders.services import Actor, SplitPart, apply_status_update, split_line
from tests.factories import AccountFactory, OrderFactory, OrderLineFactory, RegionFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, viewer):
    client.force_login(viewer)
    return client


def _order_with_lines(count: int, *, t0, sap: Actor) -> Order:
    order = OrderFactory()
    site = SiteFactory(name="DC Rotterdam")
    for index in range(count):
        line = OrderLineFactory(order=order, number=str(10 * (index + 1)), quantity=2, site=site)
        apply_status_update(line_id=line.pk, status="released", occurred_at=t0, actor=sap)
        if index % 5 == 0:
            split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.system("test"))
    return order


def test_order_detail_runs_a_constant_number_of_queries(api, t0, sap):
    # given an order of 5 lines and one of 50, both with splits and histories
    small = _order_with_lines(5, t0=t0, sap=sap)
    large = _order_with_lines(50, t0=t0, sap=sap)

    # when each is fetched (after a first request has warmed the process-wide caches)
    api.get(f"/api/v1/orders/{small.public_id}/")
    with CaptureQueriesContext(connection) as small_queries:
        assert api.get(f"/api/v1/orders/{small.public_id}/").status_code == 200
    with CaptureQueriesContext(connection) as large_queries:
        response = api.get(f"/api/v1/orders/{large.public_id}/")

    # then the 50-line order costs no more queries than the 5-line one
    assert response.status_code == 200
    assert len(response.json()["lines"]) == 50
    assert len(large_queries) == len(small_queries)
    assert len(large_queries) <= 15


def test_order_detail_shows_split_tree_rollup_and_timeline(api, t0, sap):
    # given a line split into a shipped child and a backordered child at another DC
    line = OrderLineFactory(quantity=5, site=SiteFactory(name="DC Rotterdam"))
    apply_status_update(line_id=line.pk, status="released", occurred_at=t0, actor=sap)
    memphis = SiteFactory(name="DC Memphis")
    first, second = split_line(line_id=line.pk, parts=[SplitPart(quantity=3)], actor=Actor.system("test"))
    apply_status_update(line_id=first.pk, status="shipped", occurred_at=t0 + timedelta(hours=2), actor=sap)
    apply_status_update(line_id=second.pk, status="awaiting_part", occurred_at=t0 + timedelta(hours=2), actor=sap)
    split_line(line_id=second.pk, parts=[SplitPart(quantity=1, site=memphis)], actor=Actor.system("test"))

    # when the order is fetched
    body = api.get(f"/api/v1/orders/{line.order.public_id}/").json()

    # then the tree nests children under the parent, which shows the rolled-up status
    [parent] = body["lines"]
    assert parent["status"] == "awaiting_part"
    assert [child["number"] for child in parent["children"]] == [f"{line.number}.1", f"{line.number}.2"]
    assert [grandchild["quantity"] for grandchild in parent["children"][1]["children"]] == [1, 1]
    assert body["status"] == "awaiting_part"
    assert body["summary"].startswith("1 of 3 lines shipped")
    assert "awaiting part at DC Rotterdam" in body["summary"]
    assert float(body["progress_percent"]) == pytest.approx(100 * (3 * 0.7 + 2 * 0.05) / 5, abs=0.01)
    assert {event["outcome"] for event in body["timeline"]} >= {"applied", "unchanged"}
    assert any(event["source_system"] == "" and event["actor"] == "SAP-ERP" for event in body["timeline"])


def test_internal_status_shows_customer_label_of_the_status_it_stands_for(api, t0, sap):
    line = OrderLineFactory()
    apply_status_update(line_id=line.pk, status="awaiting_kitting", occurred_at=t0, actor=sap)

    [row] = api.get(f"/api/v1/orders/{line.order.public_id}/").json()["lines"]

    assert row["status"] == "awaiting_kitting"
    assert row["customer_label"] == "Being prepared"


def test_order_list_filters_by_status_region_account_site_and_updated_since(api, t0, sap):
    apac = RegionFactory(code="apac", name="Asia Pacific")
    singapore = SiteFactory(code="dc-sin", region=apac)
    shipped = OrderLineFactory(site=singapore, order__account=AccountFactory(region=apac))
    apply_status_update(line_id=shipped.pk, status="shipped", occurred_at=t0, actor=sap)
    other = OrderLineFactory()

    def numbers(query: str) -> set[str]:
        response = api.get(f"/api/v1/orders/?{query}")
        assert response.status_code == 200, response.content
        return {row["number"] for row in response.json()["results"]}

    assert numbers("status=shipped") == {shipped.order.number}
    assert numbers("status=shipped&status=received") == {shipped.order.number, other.order.number}
    assert numbers("region=apac") == {shipped.order.number}
    assert numbers(f"account={other.order.account.number}") == {other.order.number}
    assert numbers("site=dc-sin") == {shipped.order.number}
    assert numbers(f"number={other.order.number.lower()}") == {other.order.number}
    later = Order.objects.get(pk=other.order_id).updated_at + timedelta(seconds=1)
    assert numbers(f"updated_since={later.isoformat().replace('+00:00', 'Z')}") == set()


def test_order_list_pages_with_a_cursor(api):
    OrderFactory.create_batch(5)

    first = api.get("/api/v1/orders/?page_size=2").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert not {row["number"] for row in first["results"]} & {row["number"] for row in second["results"]}


def test_bad_filter_value_is_a_400_naming_the_field(api):
    response = api.get("/api/v1/orders/?status=teleported")

    assert response.status_code == 400
    assert "status" in response.json()


def test_unknown_order_is_404(api):
    assert api.get(f"/api/v1/orders/{uuid.uuid4()}/").status_code == 404


def test_order_is_named_by_its_public_id_and_not_by_its_number_or_integer_id(api):
    # given an order
    order = OrderFactory()

    # when it is fetched by its public id, its number and its integer id
    by_public_id = api.get(f"/api/v1/orders/{order.public_id}/")
    by_number = api.get(f"/api/v1/orders/{order.number}/")
    by_integer_id = api.get(f"/api/v1/orders/{order.pk}/")

    # then only the public id names it; the number stays a list filter
    assert by_public_id.status_code == 200
    assert by_public_id.json()["id"] == str(order.public_id)
    assert by_public_id.json()["url"].endswith(f"/api/v1/orders/{order.public_id}/")
    assert (by_number.status_code, by_integer_id.status_code) == (404, 404)
    [row] = api.get(f"/api/v1/orders/?number={order.number}").json()["results"]
    assert row["id"] == str(order.public_id)


def test_no_integer_id_appears_in_the_order_detail(api, t0, sap):
    # given an order whose line was split and moved, so it has children and a timeline
    line = OrderLineFactory(quantity=2)
    apply_status_update(line_id=line.pk, status="released", occurred_at=t0, actor=sap)
    first, _ = split_line(line_id=line.pk, parts=[SplitPart(quantity=1)], actor=Actor.system("test"))
    apply_status_update(line_id=first.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)

    # when the order is fetched
    body = api.get(f"/api/v1/orders/{line.order.public_id}/").json()

    # then the order, its lines, children and events are named by public ids only
    [parent] = body["lines"]
    assert parent["id"] == str(line.public_id)
    assert [child["id"] for child in parent["children"]] == [
        str(child.public_id) for child in OrderLine.objects.filter(parent=line).order_by("number")
    ]
    assert {event["line_id"] for event in body["timeline"]} <= {str(row.public_id) for row in OrderLine.objects.all()}
    assert all(event["id"] == f"{event['line_id']}.{event['sequence']}" for event in body["timeline"])
    integer_ids = (
        {row.pk for row in OrderLine.objects.all()}
        | {line.order_id}
        | set(StatusEvent.objects.values_list("pk", flat=True))
    )
    assert not set(_values_named_id(body)) & integer_ids
    assert all(isinstance(value, str) for value in _values_named_id(body))


def _values_named_id(document) -> list:
    """Every value under a key `id` or ending in `_id`, anywhere in a JSON document."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "id" or key.endswith("_id"):
                found.append(value)
            found.extend(_values_named_id(value))
    elif isinstance(document, list):
        for item in document:
            found.extend(_values_named_id(item))
    return found


def test_orders_need_the_view_permission(client, outsider):
    OrderFactory()
    assert client.get("/api/v1/orders/").status_code in (401, 403)
    client.force_login(outsider)
    assert client.get("/api/v1/orders/").status_code == 403


def test_status_vocabulary_is_translated_by_accept_language(api):
    english = api.get("/api/v1/statuses/").json()
    german = api.get("/api/v1/statuses/", HTTP_ACCEPT_LANGUAGE="de").json()

    assert [row["code"] for row in english][:3] == ["received", "released", "awaiting_part"]
    kitting = next(row for row in english if row["code"] == "awaiting_kitting")
    assert kitting["internal_only"] is True and kitting["shown_to_customer_as"] == "picking"
    assert next(row for row in german if row["code"] == "shipped")["customer_label"] == "Versandt"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/orders/{public_id}/" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_an_order_number_two_issuers_share_is_found_by_its_public_id_only(api):
    # given two orders numbered SO-1 by two ERPs
    emea = OrderFactory(number="SO-1", issuer="erp-emea")
    OrderFactory(number="SO-1", issuer="erp-amer")

    # when each is asked for, then the number names neither (never a 500) and the public id one
    assert api.get("/api/v1/orders/SO-1/").status_code == 404
    response = api.get(f"/api/v1/orders/{emea.public_id}/")
    assert response.status_code == 200
    assert response.json()["shipments"] == []
