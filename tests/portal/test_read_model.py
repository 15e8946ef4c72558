"""The customer's read model of an order: customer statuses only, no hidden, stale, rejected or
contested facts, no staff names or notes; built once per change and served from the cache."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, StatusEvent
from orders.read_models import Audience, order_present, order_view, with_view_version
from orders.services import Actor, apply_status_update, line_status_override, status_event_suppress
from orders.services.shipments import ShipmentData, shipment_track
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _view(order, audience=Audience.CUSTOMER):
    return order_view(with_view_version(Order.objects.filter(pk=order.pk)).get(), audience=audience)


def test_an_internal_status_shows_as_its_customer_equivalent(order, showcase):
    view = _view(order)

    line_20 = next(line for line in view["lines"] if line["number"] == "20")
    assert line_20["status"] == "picking"
    assert "awaiting_kitting" not in json.dumps(view)
    assert order_present(view).line_by_public_id[line_20["public_id"]]["label"] == "Being prepared"


def test_split_children_and_the_shipment_are_in_the_view(order, showcase):
    view = _view(order)

    numbers = {line["number"]: line for line in view["lines"]}
    assert numbers["10.1"]["parent"] == numbers["10"]["public_id"]
    assert numbers["10.1"]["depth"] == 1
    (shipment,) = view["shipments"]
    assert shipment["carrier"] == "UPSN"
    assert shipment["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert shipment["lines"] == [{"line": "10.1", "line_public_id": numbers["10.1"]["public_id"], "quantity": 3}]
    assert numbers["30"]["delivered_quantity"] == 6


def test_hidden_stale_and_rejected_facts_and_staff_words_never_appear(order, showcase, sap, t0):
    # given a supervisor's override with a note, a hidden event, a stale fact and a rejected one
    supervisor = UserFactory(username="sup-ervisor-name")
    supervisor.user_permissions.add(
        *Permission.objects.filter(codename__in=["override_line_status", "suppress_statusevent"])
    )
    line_30, line_20 = showcase["30"], showcase["20"]
    override = line_status_override(
        line_id=line_20.pk,
        status="packed",
        actor=Actor.person(supervisor),
        reason_code="data_correction",
        reason_text="Internal note: kitting done by hand",
        occurred_at=t0 + timedelta(hours=5),
    )
    late = apply_status_update(line_id=line_30.pk, status="picking", occurred_at=t0 + timedelta(seconds=30), actor=sap)
    refused = apply_status_update(
        line_id=line_30.pk, status="cancelled", occurred_at=t0 + timedelta(hours=6), actor=sap
    )
    hidden = StatusEvent.objects.get(line=showcase["10.2"], to_status="awaiting_part")
    status_event_suppress(event_id=hidden.pk, user=supervisor, reason_code="wrong", reason_text="Sent in error")
    assert (late.outcome, refused.outcome) == ("stale", "rejected")

    # when the customer view is built
    view = _view(order)
    text = json.dumps(view)

    # then only applied, visible changes, without people or notes
    ids = {entry["id"] for entry in view["timeline"]}
    for event in (late.event, refused.event, hidden):
        assert f"{event.line.public_id}:{event.sequence}" not in ids
    assert f"{line_20.public_id}:{override.event.sequence}" in ids
    assert "sup-ervisor-name" not in text and "Internal note" not in text and "SAP-ERP" not in text
    assert '"id": ' not in text.replace('"id": "', "")  # every id is a public one (no integer ids)


def test_the_technician_view_adds_site_carrier_and_contacts(order, showcase, technician):
    view = _view(order, Audience.TECHNICIAN)

    line = next(line for line in view["lines"] if line["number"] == "10.1")
    assert line["carrier"] == "UPSN"
    assert line["site"]
    assert view["contacts"] == [{"role": "technician", "name": "Tomas Field", "phone": "+4915112345678", "email": ""}]
    assert "contacts" not in _view(order)


def test_a_read_after_the_first_is_one_cache_hit(order, showcase):
    _view(order)
    fetched = with_view_version(Order.objects.filter(pk=order.pk)).get()

    with CaptureQueriesContext(connection) as queries:
        order_view(fetched)

    assert len(queries) == 0


def test_a_status_change_gives_a_new_view(order, showcase, sap, t0):
    before = _view(order)

    apply_status_update(line_id=showcase["10.2"].pk, status="allocated", occurred_at=t0 + timedelta(hours=1), actor=sap)
    after = _view(order)

    assert after["order"]["sequence"] > before["order"]["sequence"]
    assert next(line for line in after["lines"] if line["number"] == "10.2")["status"] == "allocated"


def test_a_carrier_location_update_without_a_status_change_shows_too(order, showcase):
    _view(order)
    shipment = order.shipments.get()

    shipment_track(
        shipment_id=shipment.pk, data=ShipmentData(location="Duisburg depot"), occurred_at=shipment.created_at
    )

    assert _view(order)["shipments"][0]["last_location"] == "Duisburg depot"


def test_the_read_model_costs_the_same_queries_for_3_and_30_lines(customer_account, t0, sap):
    from tests.factories import OrderFactory, OrderLineFactory

    def build_queries(line_count: int) -> int:
        order = OrderFactory(account=customer_account)
        for number in range(line_count):
            line = OrderLineFactory(order=order, number=str(10 * (number + 1)))
            apply_status_update(line_id=line.pk, status="released", occurred_at=t0, actor=sap)
        fetched = with_view_version(Order.objects.filter(pk=order.pk)).get()
        with CaptureQueriesContext(connection) as queries:
            order_view(fetched)
        return len(queries)

    assert build_queries(3) == build_queries(30)


def test_every_carrier_the_schema_examples_name_has_a_tracking_page():
    import pathlib
    import re

    from orders.read_models.build import tracking_url

    carriers = set()
    for example in pathlib.Path("docs/schemas").rglob("*.json"):
        carriers |= set(re.findall(r'"carrier"\s*:\s*"([A-Z0-9]{2,4})"', example.read_text()))
    assert carriers, "the schema examples name carriers"
    for carrier in carriers:
        assert tracking_url(carrier, "JJD000390009999").startswith("https://"), carrier
