"""The outbox in the Django admin: the admin role lists the deliveries of its scope, filters the
dead ones and delivers them again; nothing of another region shows or moves."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from orders.models import DeliveryState, OutboxDelivery
from orders.publication import Topic, handlers_for, register_handler, unregister_handler
from orders.services import apply_status_update
from tests.factories import OrderLineFactory, RegionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Gateway:
    def __init__(self) -> None:
        self.up = False
        self.received: list[int] = []

    def __call__(self, event) -> None:
        if not self.up:
            raise ConnectionError("partner webhook answered 503")
        self.received.append(event.pk)


@pytest.fixture
def gateway():
    gateway = Gateway()
    register_handler(name="tests.partner", topics=[Topic.LINE_STATUS_CHANGED], handler=gateway)
    yield gateway
    unregister_handler("tests.partner")


@pytest.fixture
def dead(gateway, sap, t0, settings, django_capture_on_commit_callbacks):
    """Per region, a change the partner handler failed on at its only attempt."""
    settings.OUTBOX_MAX_ATTEMPTS = 1
    deliveries = {}
    for code, number in (("emea", "SO-EMEA-1"), ("americas", "SO-AMER-1")):
        line = OrderLineFactory(order__number=number, order__account__region=RegionFactory(code=code, name=code))
        with django_capture_on_commit_callbacks(execute=True):
            apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)
        deliveries[code] = OutboxDelivery.objects.get(event__order=line.order, handler="tests.partner")
        assert deliveries[code].state == DeliveryState.DEAD
    return deliveries


def _person(role: str):
    person = UserFactory(username=role, is_staff=True)
    person.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", person, RegionFactory(code="emea"))
    return person


def test_the_admin_role_lists_its_dead_deliveries_and_delivers_them_again(
    client, dead, gateway, django_capture_on_commit_callbacks
):
    # given an admin working on EMEA
    client.force_login(_person("admin"))
    url = reverse("admin:orders_outboxdelivery_changelist")

    # when they filter the dead deliveries of the partner handler
    listed = client.get(url, {"state": "dead", "handler": "tests.partner"})

    # then they see EMEA's, not the Americas'
    assert listed.status_code == 200
    assert "SO-EMEA-1" in listed.content.decode()
    assert "SO-AMER-1" not in listed.content.decode()

    # when the partner is back and they redeliver both ids (the other region's forged in)
    gateway.up = True
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            url, {"action": "redeliver", "_selected_action": [dead["emea"].pk, dead["americas"].pk]}, follow=True
        )

    # then EMEA's is delivered, the other region's is untouched
    assert answer.status_code == 200
    assert "1 delivery queued again." in answer.content.decode()
    for delivery in dead.values():
        delivery.refresh_from_db()
    assert dead["emea"].state == DeliveryState.DELIVERED
    assert dead["americas"].state == DeliveryState.DEAD
    assert gateway.received == [dead["emea"].event_id]


def test_who_may_not_redeliver_sees_no_outbox(client, dead):
    # given a supervisor (back office, no outbox rights), with admin access anyway
    client.force_login(_person("supervisor"))

    # when they open the deliveries or post the action
    listed = client.get(reverse("admin:orders_outboxdelivery_changelist"))
    posted = client.post(
        reverse("admin:orders_outboxdelivery_changelist"),
        {"action": "redeliver", "_selected_action": [dead["emea"].pk]},
    )

    # then both are refused, and nothing moves
    assert (listed.status_code, posted.status_code) == (403, 403)
    dead["emea"].refresh_from_db()
    assert dead["emea"].state == DeliveryState.DEAD


def test_the_delivery_list_needs_no_more_queries_for_more_deliveries(client, gateway, sap, t0):
    # given an admin, and the deliveries of one change in their region
    client.force_login(_person("admin"))
    url = reverse("admin:orders_outboxdelivery_changelist")
    region = RegionFactory(code="emea")

    def changes(count: int) -> None:
        for _ in range(count):
            line = OrderLineFactory(order__account__region=region)
            apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)

    changes(1)
    client.get(url)  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200

    # when there are ten times as many
    changes(9)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    # then the list shows them all with as many queries
    # one per handler (orders.live, the partner, other apps') and change
    assert response.context["cl"].result_count == 10 * len(handlers_for(Topic.LINE_STATUS_CHANGED))
    assert len(many) == len(few)
