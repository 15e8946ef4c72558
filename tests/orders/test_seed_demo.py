"""Tests of the seed_demo command: a small seeding obeys the status core's rules and invariants.

One seeding of 25 orders is shared by the assertions so that the suite stays fast.
"""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from orders.models import Order, OrderLine, Part, Region, StatusEvent
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
