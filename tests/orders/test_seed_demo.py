"""Tests of the seed_demo command: a small seeding obeys the status core's rules and invariants.

One seeding of 25 orders is shared by the assertions so that the suite stays fast.
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from orders.models import EventKind, EventOutcome, Order, OrderLine, Part, Region, Shipment, StatusEvent
from orders.services.audit import audit_chain_verify
from orders.status import LineStatus


@pytest.mark.django_db
def test_seed_demo_builds_consistent_histories():
    call_command("seed_demo", orders=25, seed=7, stdout=StringIO())

    assert set(Region.objects.values_list("code", flat=True)) == {"emea", "amer", "apac"}
    assert Order.objects.count() == 25
    assert not OrderLine.objects.annotate(event_count=Count("events")).filter(event_count=0).exists()
    split_parents = OrderLine.objects.filter(is_split=True).annotate(children_quantity=Sum("children__quantity"))
    assert split_parents
    for parent in split_parents:
        assert parent.children_quantity == parent.quantity
    assert audit_chain_verify() == []
    leaf_statuses = set(OrderLine.objects.filter(is_split=False).values_list("status", flat=True))
    assert len(leaf_statuses) >= 5
    assert LineStatus.DELIVERED in leaf_statuses or LineStatus.VERIFIED in leaf_statuses
    assert not StatusEvent.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert not get_user_model().objects.filter(username="demo").exists()  # DEBUG is off in tests
    # every leaf that left its site is on a shipment carrying its tracking number, found by its references
    shipped = OrderLine.objects.filter(is_split=False).exclude(tracking_number="")
    assert shipped
    for line in shipped:
        shipment = line.shipment_lines.get().shipment
        assert (shipment.tracking_number, shipment.carrier, shipment.order_id) == (
            line.tracking_number,
            line.carrier,
            line.order_id,
        )
        assert set(line.references.values_list("kind", "value")) >= {
            ("tracking_number", shipment.tracking_number),
            ("bill_of_lading", shipment.bill_of_lading),
        }
    assert (
        Order.history.count() == 25 and OrderLine.history.filter(history_type="+").count() == OrderLine.objects.count()
    )

    counts = (Order.objects.count(), OrderLine.objects.count(), StatusEvent.objects.count())
    output = StringIO()
    call_command("seed_demo", orders=25, seed=7, if_empty=True, stdout=output)
    assert (Order.objects.count(), OrderLine.objects.count(), StatusEvent.objects.count()) == counts
    assert "not seeding" in output.getvalue()


@pytest.mark.django_db
def test_seed_demo_adds_orders_after_the_highest_number(settings):
    settings.DEBUG = True
    call_command("seed_demo", orders=2, seed=1, stdout=StringIO())
    call_command("seed_demo", orders=2, seed=1, stdout=StringIO())

    assert sorted(Order.objects.values_list("number", flat=True)) == [f"SO-450000{n}" for n in range(1, 5)]
    assert Part.objects.count() == 300  # the second seeding reused the catalogue
    assert get_user_model().objects.get(username="demo").is_superuser


@pytest.mark.django_db
def test_seed_demo_leaves_the_history_production_would():
    # given a small demo seeding
    call_command("seed_demo", orders=25, seed=11, stdout=StringIO())
    lines = list(OrderLine.objects.select_related("order"))

    # then every line started at its order's creation, with a start event then
    starts = {event.line_id: event for event in StatusEvent.objects.filter(kind=EventKind.START)}
    assert set(starts) == {line.pk for line in lines}
    for line in lines:
        assert line.start_occurred_at is not None
        if line.parent_id is None:
            assert starts[line.pk].occurred_at == line.start_occurred_at == line.created_at

    # and each status change of a line has its own history row, dated when it arrived, in order
    for line in (line for line in lines if not line.is_split):
        changes = [
            event.to_status
            for event in line.events.filter(outcome=EventOutcome.APPLIED)
            .exclude(kind=EventKind.START)
            .order_by("received_at", "sequence")
            if event.from_status != event.to_status
        ]
        history = list(line.history.order_by("history_date", "history_id").values_list("status", flat=True))
        assert [status for index, status in enumerate(history) if index == 0 or history[index - 1] != status][
            1:
        ] == changes
        assert line.history.filter(history_date__gt=timezone.now()).count() == 0

    # and a shipped line got its tracking number with its goods issue, not after its delivery
    shipped = [line for line in lines if line.tracking_number]
    assert shipped
    for line in shipped:
        first = line.history.exclude(tracking_number="").order_by("history_date", "history_id").first()
        assert first.status in {"shipped", "in_transit", "out_for_delivery", "delivered", "verified", "returned"}
        assert first.status != "verified" or not line.history.filter(status="delivered").exists()

    # and every shipment names the site it left from
    assert not Shipment.objects.filter(ship_from_code="").exists()
    assert not Shipment.objects.filter(ship_from__isnull=True).exists()

    # and a split happened when the source said, before its children's facts
    for parent in OrderLine.objects.filter(is_split=True):
        split = parent.events.get(kind=EventKind.SPLIT)
        for child in parent.children.all():
            assert starts[child.pk].occurred_at == split.occurred_at
            assert not child.events.filter(kind=EventKind.FACT, occurred_at__lt=split.occurred_at).exists()
