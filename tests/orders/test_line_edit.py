"""A line edited in the admin while its sources keep moving it: a person's save changes only what
they changed (a status, its times and the audit chain a source wrote in the meantime stay), and
the order shows the edit at once in its own figures (ETA range, status, progress)."""

from datetime import timedelta

import pytest
from django.urls import reverse

from orders.models import Order, OrderLine, OutboxEvent
from orders.publication import Topic
from orders.services import apply_status_update
from orders.services.audit import audit_chain_verify
from orders.services.lines import line_edit_save
from orders.status import LineStatus
from tests.admin_forms import form_as_shown
from tests.factories import OrderLineFactory, PartFactory, UserFactory

pytestmark = pytest.mark.django_db

# Every field the core keeps for itself on a line: a person's edit never writes them.
CORE_FIELDS = (
    "status",
    "status_before_interruption",
    "status_occurred_at",
    "status_changed_at",
    "path_occurred_at",
    "latest_fact_at",
    "latest_fact_sequence",
    "latest_fact_key",
    "held_status",
    "quantity_ready",
    "is_split",
    "audit_sequence",
    "audit_head",
)


@pytest.fixture
def boss(client):
    client.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def picking_line(sap, t0, django_capture_on_commit_callbacks):
    line = OrderLineFactory(quantity=10, tracking_number="", eta=t0 + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)
    return OrderLine.objects.get(pk=line.pk)


def test_a_line_a_source_moved_after_the_form_was_loaded_keeps_what_the_source_said(
    picking_line, sap, t0, django_capture_on_commit_callbacks
):
    # given a person's form holding the line as picking (the admin loaded it) ...
    as_loaded = OrderLine.objects.get(pk=picking_line.pk)
    # ... and the source shipping it before they save
    with django_capture_on_commit_callbacks(execute=True):
        apply_status_update(line_id=picking_line.pk, status="shipped", occurred_at=t0 + timedelta(hours=1), actor=sap)
    shipped = OrderLine.objects.filter(pk=picking_line.pk).values(*CORE_FIELDS).get()

    # when they save their tracking number
    as_loaded.tracking_number = "1Z999AA1"
    line_edit_save(line=as_loaded, fields=["tracking_number"])

    # then the tracking number is saved, and the line is still shipped, as the source said
    saved = OrderLine.objects.filter(pk=picking_line.pk).values("tracking_number", *CORE_FIELDS).get()
    assert saved["tracking_number"] == "1Z999AA1"
    assert saved["status"] == LineStatus.SHIPPED
    assert {name: saved[name] for name in CORE_FIELDS} == shipped
    # and its audit chain still verifies
    assert audit_chain_verify(line_ids=[picking_line.pk]) == []


def test_an_edit_leaves_the_fields_the_person_did_not_change_as_they_are_now(picking_line, t0):
    # given a person's form holding the line with its old ETA, and the ETA moved since by another save
    as_loaded = OrderLine.objects.get(pk=picking_line.pk)
    moved = OrderLine.objects.get(pk=picking_line.pk)
    moved.eta = t0 + timedelta(days=9)
    line_edit_save(line=moved, fields=["eta"])

    # when they save only a new carrier
    as_loaded.carrier = "DHLF"
    line_edit_save(line=as_loaded, fields=["carrier"])

    # then the carrier is saved and the other ETA kept
    saved = OrderLine.objects.get(pk=picking_line.pk)
    assert (saved.carrier, saved.eta) == ("DHLF", t0 + timedelta(days=9))


def test_an_eta_edited_in_the_admin_moves_the_orders_eta_range(boss, picking_line):
    # given an order whose only open line is due in three days
    url = reverse("admin:orders_orderline_change", args=[picking_line.pk])
    shown = form_as_shown(boss.get(url).content.decode())

    # when staff put its planned ETA on 1 December in the admin
    answer = boss.post(url, {**shown, "eta_0": "2026-12-01", "eta_1": "09:30:00"})

    # then the order's ETA range (API, admin list, order pages) is that ETA
    assert answer.status_code == 302, answer.content.decode()[:2000]
    eta = OrderLine.objects.get(pk=picking_line.pk).eta
    assert eta.date().isoformat() == "2026-12-01"
    order = Order.objects.get(pk=picking_line.order_id)
    assert (order.earliest_eta, order.latest_eta) == (eta, eta)


def test_a_line_added_in_the_admin_counts_in_the_orders_status_and_progress(boss, picking_line):
    # given an order whose one line is picking
    order = Order.objects.get(pk=picking_line.order_id)
    progress_before = order.progress_percent
    assert order.status == LineStatus.PICKING and progress_before > 0
    url = reverse("admin:orders_orderline_add")
    shown = form_as_shown(boss.get(url).content.decode())

    # when staff add a second line of 10 to it in the admin
    answer = boss.post(
        url,
        {
            **shown,
            "order": str(order.pk),
            "number": "20",
            "part": str(PartFactory().pk),
            "quantity": "10",
            "eta_0": "2026-12-01",
            "eta_1": "09:30:00",
        },
    )

    # then the order shows the new line: received (least advanced), half the progress, its ETA
    assert answer.status_code == 302, answer.content.decode()[:2000]
    added = OrderLine.objects.get(order=order, number="20")
    order.refresh_from_db()
    assert order.status == LineStatus.RECEIVED
    assert order.progress_percent < progress_before
    assert order.latest_eta == added.eta
    # and the addition is published in the order's sequence
    published = OutboxEvent.objects.filter(order=order, topic=Topic.LINE_EDITED).get()
    assert (published.payload["line_id"], published.payload["added"]) == (added.pk, True)


def test_the_line_form_explains_split_numbers_as_a_general_rule(boss, picking_line):
    # given a line never split
    url = reverse("admin:orders_orderline_change", args=[picking_line.pk])

    # when staff open it in the admin
    html = boss.get(url).content.decode()

    # then the hint under its number does not speak as if it had split children
    assert "Children of a split" not in html
    assert "A split's children are numbered 10.1, 10.2, …" in html


def test_an_order_line_cannot_be_deleted_in_the_admin(boss, picking_line):
    # given staff with every permission on a line with a recorded history
    change_url = reverse("admin:orders_orderline_change", args=[picking_line.pk])
    delete_url = reverse("admin:orders_orderline_delete", args=[picking_line.pk])

    # when they open the line, and its delete page
    change_page = boss.get(change_url).content.decode()
    answer = boss.get(delete_url)

    # then no Delete is offered, and the delete page is refused
    assert delete_url not in change_page
    assert answer.status_code == 403
    assert OrderLine.objects.filter(pk=picking_line.pk).exists()
