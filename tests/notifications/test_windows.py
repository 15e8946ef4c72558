"""Maintenance windows in the corners: a number two people share, a window that overruns, a
message already waiting when a window starts, quiet hours after a window, and the alerts of a
source system's window."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from notifications.models import MaintenanceWindow
from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db(transaction=True)

# A Monday, 10:00 in Berlin.
T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SAP = Actor.integration("SAP-ERP")


def move(line, status: str, at: datetime):
    return apply_status_update(line_id=line.pk, status=status, occurred_at=at, actor=SAP)


def sms_to(twilio, number: str) -> list[dict]:
    return [message for message in twilio.sent() if message["to"] == number]


def test_two_people_sharing_a_site_phone_get_one_catch_up_and_nothing_else_stalls(rules, twilio, mailbox, contact_for):
    # given two A-part orders whose requesters share the site's phone (different emails)
    line = OrderLineFactory(part__criticality="A", part__description="Hydraulic pump")
    other = OrderLineFactory(part__criticality="A", part__description="Drive belt", order__account=line.order.account)
    contact_for(line, phone="+4915199999999", email="anna@site.example")
    contact_for(other, phone="+4915199999999", email="ben@site.example")
    # and a routine order elsewhere, whose email comes due after the window
    routine = OrderLineFactory(part__criticality="B")
    routine_requester = contact_for(routine)
    MaintenanceWindow.objects.create(name="SAP cutover", starts_at=T, ends_at=T + timedelta(hours=1))

    # when both A parts ship during the window, the routine one just after it
    with freeze_time(T + timedelta(minutes=5)):
        move(line, "shipped", T)
        move(other, "shipped", T)
    with freeze_time(T + timedelta(hours=1, minutes=1)):
        move(routine, "shipped", T + timedelta(hours=1))
    for minutes in (75, 80):
        with freeze_time(T + timedelta(minutes=minutes)):
            notifications_sweep()

    # then the shared phone gets one catch-up SMS about both parts
    [summary] = sms_to(twilio, "+4915199999999")
    assert "Hydraulic pump" in summary["body"]
    assert "Drive belt" in summary["body"]
    # and the routine email still goes out
    assert len(mailbox.to(routine_requester.email)) == 1
