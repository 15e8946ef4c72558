"""API v1 input: every query parameter and path segment that is not valid is a 400 naming the
parameter (or a 404 for a path), never a 500 from the database."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DataError, connection, transaction

from orders.models import Order
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, viewer):
    client.force_login(viewer)
    return client


def _cursor(query: str) -> str:
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("updated_since=garbage", "updated_since"),
        ("updated_since=0000-01-01T00:00:00Z", "updated_since"),
        ("updated_since=9999-12-31T23:00:00-05:00", "updated_since"),
        ("updated_since=0001-01-01T00:00:00%2B01:00", "updated_since"),
        ("updated_since=2026-01-01T00:00:00%00", "updated_since"),
        ("status=teleported", "status"),
        ("status=shipped&status=%00", "status"),
        ("priority=whenever", "priority"),
        ("number=SO-1%00", "number"),
        ("site=dc%00", "site"),
        ("account=%00", "account"),
        ("region=%00", "region"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("page_size=ten", "page_size"),
        ("page_size=" + "9" * 5000, "page_size"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + _cursor("p=yesterday"), "cursor"),
        ("cursor=" + _cursor("p=2026-01-01 00:00:00\x00"), "cursor"),
        ("cursor=" + _cursor("p=9999-12-31 23:59:59-05:00"), "cursor"),
        ("cursor=" + _cursor("o=" + "1" * 5000), "cursor"),
        ("cursor=%C3%A9t%C3%A9", "cursor"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(api, query, field):
    # given an order to list
    OrderFactory()

    # when the list is asked for with the bad value
    response = api.get(f"/api/v1/orders/?{query}")

    # then the answer is a 400 that names the parameter
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_nul_in_a_parameter_name_is_a_400(api):
    response = api.get("/api/v1/statuses/?x%00y=1")

    assert response.status_code == 400
    assert list(response.json()) == ["x\\x00y"]


@pytest.mark.parametrize("segment", ["%00", "SO-1%00", "00000000-0000-0000-0000-00000000000%00", "12"])
def test_a_path_segment_that_names_no_order_is_a_json_404(api, segment):
    response = api.get(f"/api/v1/orders/{segment}/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


def test_updated_since_with_an_offset_the_database_refuses_means_the_same_instant_in_utc(api):
    # given an order changed at 2026-01-01T21:30Z
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(updated_at=datetime(2026, 1, 1, 21, 30, tzinfo=UTC))

    # when the list is asked for changes since 00:00 at -21:00 (21:00Z) and at -22:00 (22:00Z)
    since_21 = api.get("/api/v1/orders/?updated_since=2026-01-01T00:00:00-21:00")
    since_22 = api.get("/api/v1/orders/?updated_since=2026-01-01T00:00:00-22:00")

    # then both are answered, as the instants they name
    assert since_21.status_code == 200 and since_22.status_code == 200
    assert [row["number"] for row in since_21.json()["results"]] == [order.number]
    assert since_22.json()["results"] == []


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own range of offsets")
def test_postgresql_itself_refuses_the_offset_the_api_accepts(api):
    # given PostgreSQL, which reads offsets only up to ±15:59
    with pytest.raises(DataError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", ["2026-01-01T00:00:00-21:00"])

    # when the API is asked with that offset, then it answers, and the page links work
    OrderFactory.create_batch(3)
    first = api.get("/api/v1/orders/?updated_since=2026-01-01T00:00:00-21:00&page_size=2")
    assert first.status_code == 200, first.content
    assert api.get(first.json()["next"]).status_code == 200


def test_a_cursor_the_api_handed_out_still_pages(api):
    # given a cursor from a page (its position is a time the next page starts from)
    for days, order in enumerate(OrderFactory.create_batch(3)):
        Order.objects.filter(pk=order.pk).update(updated_at=datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=days))
    first = api.get("/api/v1/orders/?page_size=2").json()

    # when the next and then the previous page are asked for
    second = api.get(first["next"]).json()
    back = api.get(second["previous"]).json()

    # then they page as before
    assert len(second["results"]) == 1
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]


def test_schema_documents_the_errors_of_every_operation_and_the_webhook(client):
    # when the schema is fetched
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    # then every API operation documents 400, 401, 403 and 404, and the webhook its own answers
    webhook = schema["paths"]["/api/v1/inbound/{source_code}/"]["post"]
    assert set(webhook["responses"]) == {"200", "202", "401", "404", "413", "503"}
    assert any(parameter["name"] == "X-Signature" for parameter in webhook["parameters"])
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/inbound/"):
            continue
        for method, operation in operations.items():
            assert {"400", "401", "403", "404"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize("query", ["updated_since=", "is_test=", "is_test=maybe", "priority=", "status="])
def test_a_typed_parameter_given_empty_or_unreadable_is_a_400(api, query):
    response = api.get(f"/api/v1/orders/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()
