"""The demo (`make run`) has people to tell: every seeded order a requester in its account's
language, and the showcase order recipients in several languages, so a status change in the demo
sends messages that go somewhere."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from freezegun import freeze_time

from notifications.models import Notification
from notifications.services.batches import notifications_sweep
from orders.models import Order, OrderContact
from orders.services import Actor, apply_status_update
from orders.services.contacts import ContactData, contact_checked

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_seeded_order_has_a_reachable_requester_in_its_accounts_language():
    call_command("seed_demo", orders=12, seed=3, stdout=io.StringIO())

    for order in Order.objects.select_related("account"):
        [requester] = order.contacts.filter(role="requester")
        assert requester.language == order.account.language
        # what a source would be allowed to send: valid email, E.164 phone, real time zone
        fields = ContactData(
            name=requester.name,
            email=requester.email,
            phone=requester.phone,
            language=requester.language,
            time_zone=requester.time_zone,
        )
        assert contact_checked(fields) == fields
        assert (requester.phone != "") == (order.priority in ("P1", "P2"))


def test_a_status_change_of_the_showcase_order_reaches_people_in_several_languages(settings, twilio, mailbox):
    # given the demo as `make run` seeds it
    settings.DEBUG = True
    call_command("seed_demo", orders=3, seed=3, stdout=io.StringIO())
    call_command("seed_demo_portal", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_notification_rules", stdout=out)
    call_command("seed_notification_rules", stdout=io.StringIO())  # again: nothing twice
    order = Order.objects.get(number="SO-DEMO-4711")
    assert "3 added" in out.getvalue()
    languages = {contact.language or order.account.language for contact in order.contacts.all()}
    assert {"de", "fr", "es", "en"} <= languages
    assert OrderContact.objects.filter(order=order).count() == 5

    # when the A part in transit is delivered
    line = order.lines.get(number="10.1")
    apply_status_update(line_id=line.pk, status="delivered", occurred_at=timezone.now(), actor=Actor.integration("SAP"))
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then messages went out, by SMS and by email, in several languages
    sent = Notification.objects.filter(order=order, status__in=("sent", "queued", "delivered"))
    assert {"sms", "email"} <= set(sent.values_list("channel", flat=True))
    assert len(set(sent.values_list("locale", flat=True))) >= 3
    assert twilio.sent() and mailbox.messages
