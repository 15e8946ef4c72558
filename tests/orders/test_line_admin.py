"""An order line in the Django admin: a person changes where it ships from, its planned ETA and
its tracking there; its status and every field the core keeps for itself (split flags, the
decision's facts, the held override, the audit chain) change only through the core's services,
whatever the change form posts."""

import pytest
from django.urls import reverse

from orders.models import Order, OrderLine
from orders.services import apply_status_update
from orders.status import LineStatus
from tests.admin_forms import form_as_shown
from tests.factories import OrderLineFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def picking_line(sap, t0, django_capture_on_commit_callbacks):
    line = OrderLineFactory(quantity=10, tracking_number="")
    with django_capture_on_commit_callbacks(execute=True):
        apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)
    return OrderLine.objects.get(pk=line.pk)


def test_the_line_change_form_saves_the_eta_and_tracking_but_not_the_status_or_core_fields(client, picking_line):
    # given someone in the admin with every permission, on a line the source moved to picking
    line = picking_line
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    url = reverse("admin:orders_orderline_change", args=[line.pk])
    shown = form_as_shown(client.get(url).content.decode())
    before = OrderLine.objects.filter(pk=line.pk).values().get()

    # when they post the form with a new ETA and tracking number, and (forged: the form shows
    # none of them as inputs) a new status and new values for the core's own fields
    forged = {
        "status": LineStatus.DELIVERED,
        "status_before_interruption": LineStatus.PACKED,
        "held_status": LineStatus.SHIPPED,
        "start_status": LineStatus.SHIPPED,
        "latest_fact_key": "forged",
        "latest_fact_sequence": "999",
        "quantity_ready": "7",
        "is_split": "on",
        "audit_sequence": "0",
        "audit_head": "0" * 64,
        "quantity": "3",
    }
    answer = client.post(
        url, {**shown, "eta_0": "2026-12-01", "eta_1": "09:30:00", "tracking_number": "1Z999AA1", **forged}
    )

    # then the ETA and tracking number are saved
    assert answer.status_code == 302, answer.content.decode()[:2000]
    after = OrderLine.objects.filter(pk=line.pk).values().get()
    assert after["eta"] is not None and after["eta"].date().isoformat() == "2026-12-01"
    assert after["tracking_number"] == "1Z999AA1"
    # and the status and every field the core keeps are as the source left them
    assert after["status"] == LineStatus.PICKING
    assert {name: after[name] for name in forged} == {name: before[name] for name in forged}


def test_the_order_change_form_keeps_the_outbox_sequence(client, picking_line):
    order = picking_line.order
    sequence = Order.objects.get(pk=order.pk).outbox_sequence
    assert sequence > 0
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    url = reverse("admin:orders_order_change", args=[order.pk])
    shown = form_as_shown(client.get(url).content.decode())

    answer = client.post(url, {**shown, "customer_reference": "PO-77", "outbox_sequence": "0"})

    assert answer.status_code == 302, answer.content.decode()[:2000]
    saved = Order.objects.get(pk=order.pk)
    assert (saved.customer_reference, saved.outbox_sequence) == ("PO-77", sequence)
