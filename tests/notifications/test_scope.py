"""The delivery log is scoped like every order-related page: in the admin (notifications and log
rows) and on the back-office page of an order, a person sees the messages of the orders in their
scope; others answer 404 and are never listed."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import DeliveryLogEntry, Notification
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory, RegionFactory
from tests.notifications.conftest import region_member
from tests.notifications.factories import OrderContactFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(rules, twilio):
    """An A-part SMS about an order in EMEA and one about an order in the Americas."""
    emea, americas = RegionFactory(code="emea"), RegionFactory(code="americas", name="Americas")
    world = {"emea": emea}
    for name, region in (("in", emea), ("out", americas)):
        line = OrderLineFactory(
            order__number=f"SO-{name.upper()}-0001", order__account__region=region, part__criticality="A"
        )
        OrderContactFactory(order=line.order)
        apply_status_update(
            line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP")
        )
        notification = Notification.objects.get(order=line.order)
        world[name] = {"order": line.order, "notification": notification, "log": notification.log.first()}
    return world


@pytest.mark.parametrize(("model", "key"), [("notification", "notification"), ("deliverylogentry", "log")])
def test_an_admin_sees_the_delivery_log_of_their_scope_only(client, world, model, key):
    # given an admin-role person working on EMEA only
    client.force_login(region_member("admin", world["emea"]))

    # when they open the list and the records of both regions
    listing = client.get(reverse(f"admin:notifications_{model}_changelist")).content.decode()
    inside = client.get(reverse(f"admin:notifications_{model}_change", args=[world["in"][key].pk]))
    outside = client.get(reverse(f"admin:notifications_{model}_change", args=[world["out"][key].pk]))

    # then EMEA's is listed and opens; the Americas' is neither listed nor found
    assert reverse(f"admin:notifications_{model}_change", args=[world["in"][key].pk]) in listing
    assert reverse(f"admin:notifications_{model}_change", args=[world["out"][key].pk]) not in listing
    assert (inside.status_code, outside.status_code) == (200, 404)
    assert "SO-OUT-0001" not in listing + inside.content.decode()


def test_a_person_without_the_delivery_log_permission_may_not_open_it(client, world):
    client.force_login(region_member("integration", world["emea"]))

    answer = client.get(reverse("admin:notifications_notification_change", args=[world["out"]["notification"].pk]))

    assert answer.status_code == 403


def test_the_back_office_shows_an_orders_messages_in_scope_and_404_outside(client, world):
    # given a planner of EMEA (no admin access)
    client.force_login(region_member("planner", world["emea"], is_staff=False))

    # when they open the delivery log of both orders
    inside = client.get(reverse("notifications:order", args=[world["in"]["order"].pk]))
    outside = client.get(reverse("notifications:order", args=[world["out"]["order"].pk]))

    # then their order's SMS shows with its provider id and history; the other is not found
    assert inside.status_code == 200
    assert world["in"]["notification"].provider_id in inside.content.decode()
    assert outside.status_code == 404


def test_the_line_page_links_to_its_orders_delivery_log(client, world):
    client.force_login(region_member("planner", world["emea"], is_staff=False))
    line = world["in"]["order"].lines.first()

    page = client.get(reverse("backoffice:line", args=[line.pk])).content.decode()

    assert reverse("notifications:order", args=[world["in"]["order"].pk]) in page


def test_every_log_row_names_the_recipient_template_version_and_provider_id(world):
    notification = world["in"]["notification"]

    statuses = list(DeliveryLogEntry.objects.filter(notification=notification).values_list("status", flat=True))

    assert statuses == ["pending", "claimed", "queued"]
    assert notification.template_version.startswith("default (en)")
    assert notification.log.get(status="queued").provider_id == notification.provider_id


def test_the_orders_delivery_log_page_needs_no_more_queries_for_more_messages(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import ContactRole

    # given a planner looking at an order with one SMS
    client.force_login(region_member("planner", world["emea"], is_staff=False))
    order = world["in"]["order"]
    url = reverse("notifications:order", args=[order.pk])
    client.get(url)  # caches filled once (content types, permissions)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200

    # when the order has ten more recipients, each with an SMS and its log
    for _ in range(10):
        OrderContactFactory(order=order, role=ContactRole.TECHNICIAN)
    line = order.lines.first()
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    # then the page needs no more queries
    assert len(response.context["notifications"]) == 12
    assert len(many) == len(few)


def test_a_digest_shows_on_the_pages_of_the_orders_it_carried_and_to_their_people(client, rules, twilio, mailbox):
    from datetime import UTC, datetime

    from freezegun import freeze_time

    from notifications.services.batches import notifications_sweep

    # given a requester with C-part lines on two EMEA orders, and one of the Americas
    emea, americas = RegionFactory(code="emea"), RegionFactory(code="americas", name="Americas")
    first = OrderLineFactory(order__account__region=emea, part__criticality="C")
    second = OrderLineFactory(order__account__region=emea, part__criticality="C")
    elsewhere = OrderLineFactory(order__account__region=americas, part__criticality="C")
    for line in (first, second):
        OrderContactFactory(order=line.order, email="anna@customer.example", time_zone="UTC")
    OrderContactFactory(order=elsewhere.order, email="carl@customer.example", time_zone="UTC")

    # when they ship and the morning digests go out
    with freeze_time(datetime(2026, 11, 2, 10, 0, tzinfo=UTC)):
        for line in (first, second, elsewhere):
            apply_status_update(
                line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP")
            )
    with freeze_time(datetime(2026, 11, 3, 8, 0, tzinfo=UTC)):
        notifications_sweep()
    digest = Notification.objects.get(kind="digest", address="anna@customer.example")
    other_digest = Notification.objects.get(kind="digest", address="carl@customer.example")

    # then each order's page lists Anna's digest, with its provider log
    client.force_login(region_member("planner", emea, is_staff=False))
    for line in (first, second):
        page = client.get(reverse("notifications:order", args=[line.order.pk]))
        assert digest in page.context["notifications"]

    # and an EMEA admin finds Anna's digest in the delivery log, not Carl's
    client.force_login(region_member("admin", emea))
    listing = client.get(reverse("admin:notifications_notification_changelist")).content.decode()
    assert reverse("admin:notifications_notification_change", args=[digest.pk]) in listing
    assert reverse("admin:notifications_notification_change", args=[other_digest.pk]) not in listing
