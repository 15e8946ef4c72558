"""Maintenance windows in the corners: a number two people share, a window that overruns, a
message already waiting when a window starts, quiet hours after a window, and the alerts of a
source system's window."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from notifications.models import MaintenanceWindow, Notification, NotificationStatus
from notifications.services.batches import notifications_sweep
from orders.services import Actor, apply_status_update
from tests.factories import OrderLineFactory
from tests.notifications.conftest import MONDAY_9_UTC, move, sms_to, text_part

pytestmark = pytest.mark.django_db(transaction=True)

T = MONDAY_9_UTC


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


def test_a_window_extended_after_its_summary_still_releases_what_it_holds(rules, twilio, mailbox, contact_for):
    # given a window that ended with nothing held (its summary round is done)
    line = OrderLineFactory(part__criticality="B", part__description="Seal kit")
    requester = contact_for(line)
    window = MaintenanceWindow.objects.create(name="ERP", starts_at=T, ends_at=T + timedelta(hours=1))
    with freeze_time(T + timedelta(hours=1, minutes=1)):
        notifications_sweep()

    # when the maintenance overruns: someone extends the window, and the part ships meanwhile
    window.refresh_from_db()
    assert window.summary_sent_at is not None
    window.ends_at = T + timedelta(hours=2)
    window.save()
    with freeze_time(T + timedelta(hours=1, minutes=10)):
        move(line, "shipped", T + timedelta(hours=1, minutes=5))
    assert mailbox.to(requester.email) == []

    # then when the extended window ends, the catch-up goes out
    with freeze_time(T + timedelta(hours=2, minutes=1)):
        notifications_sweep()
        notifications_sweep()
    [summary] = mailbox.to(requester.email)
    assert "Seal kit: Shipped" in text_part(summary)


def test_a_message_waiting_when_a_window_starts_is_held_by_it(rules, twilio, mailbox, contact_for):
    # given a B-part email waiting out its 10-minute throttle when a region's window starts
    line = OrderLineFactory(part__criticality="B", part__description="Gasket")
    requester = contact_for(line)
    MaintenanceWindow.objects.create(
        name="ERP upgrade", region=line.order.region, starts_at=T, ends_at=T + timedelta(hours=2)
    )
    with freeze_time(T - timedelta(minutes=5)):
        move(line, "shipped", T - timedelta(minutes=5))

    # when its time comes during the window
    with freeze_time(T + timedelta(minutes=6)):
        notifications_sweep()

    # then nothing goes out during the window, and the catch-up comes after it
    assert mailbox.to(requester.email) == []
    assert Notification.objects.get(address=requester.email).status == NotificationStatus.HELD
    with freeze_time(T + timedelta(hours=2, minutes=1)):
        notifications_sweep()
        notifications_sweep()
    [summary] = mailbox.to(requester.email)
    assert "Gasket: Shipped" in text_part(summary)


def test_a_routine_catch_up_waits_for_the_end_of_the_recipients_quiet_hours(rules, twilio, mailbox, contact_for):
    from datetime import time

    from notifications.models import RecipientPreference

    # given a B part whose requester keeps quiet hours from 22:00 to 07:00 in Berlin, and a
    # window from 00:00 to 02:00 Berlin time (23:00 to 01:00 UTC)
    line = OrderLineFactory(part__criticality="B")
    requester = contact_for(line, time_zone="Europe/Berlin")
    RecipientPreference.objects.create(email=requester.email, quiet_start=time(22), quiet_end=time(7))
    start = datetime(2026, 11, 2, 23, 0, tzinfo=UTC)
    MaintenanceWindow.objects.create(name="Night batch", starts_at=start, ends_at=start + timedelta(hours=2))
    with freeze_time(start + timedelta(minutes=30)):
        move(line, "shipped", start)

    # when the window ends at 02:00 Berlin time
    with freeze_time(start + timedelta(hours=2, minutes=1)):
        notifications_sweep()
        notifications_sweep()

    # then the catch-up waits until 07:00 Berlin time (06:00 UTC)
    assert mailbox.to(requester.email) == []
    with freeze_time(datetime(2026, 11, 3, 5, 59, tzinfo=UTC)):
        notifications_sweep()
    assert mailbox.to(requester.email) == []
    with freeze_time(datetime(2026, 11, 3, 6, 0, tzinfo=UTC)):
        notifications_sweep()
    assert len(mailbox.to(requester.email)) == 1


def test_a_source_systems_window_holds_the_stale_alerts_about_what_it_reported(rules, twilio, mailbox, contact_for):
    from orders.services import Provenance
    from overrides.models import StaleStatusRule
    from overrides.services.alerts import stale_alerts_scan

    # given a line that EWM last reported as packed two hours ago, and EWM's maintenance window
    line = OrderLineFactory(part__criticality="B")
    planner = contact_for(line, role="planner")
    apply_status_update(
        line_id=line.pk,
        status="packed",
        occurred_at=T - timedelta(hours=2),
        actor=Actor.integration("EWM"),
        provenance=Provenance(source_system="EWM"),
    )
    StaleStatusRule.objects.create(status="packed", threshold=timedelta(hours=1))
    MaintenanceWindow.objects.create(
        name="EWM upgrade", source_system="EWM", starts_at=T, ends_at=T + timedelta(hours=1)
    )

    # when the scan finds the line stale during EWM's window
    with freeze_time(T + timedelta(minutes=10)):
        stale_alerts_scan()

    # then the planner hears of it only when the window has ended
    assert mailbox.to(planner.email) == []
    with freeze_time(T + timedelta(hours=1, minutes=1)):
        notifications_sweep()
        notifications_sweep()
    assert len(mailbox.to(planner.email)) == 1
