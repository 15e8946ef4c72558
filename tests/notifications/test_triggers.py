"""Every kind of event the rules know reaches the right people: ETA slipped, exception,
discrepancy, override, delivery verified, stale alert, and a fresh status link on request."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from orders.models import OutboxEvent
from orders.services import Actor, LineData, OrderData, Provenance, apply_status_update, order_upsert
from orders.services.outbox import outbox_publish
from tests.factories import AccountFactory, OrderLineFactory, PartFactory, UserFactory
from tests.notifications.conftest import sms_to, status_link_in, text_part

pytestmark = pytest.mark.django_db(transaction=True)
ETA = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def upsert(account, part, *, eta: datetime):
    return order_upsert(
        data=OrderData(
            number="SO-ETA-1",
            account_number=account.number,
            lines=(LineData(number="10", part_number=part.number, quantity=1, eta=eta),),
        ),
        actor=Actor.integration("SAP"),
        provenance=Provenance(source_system="sap"),
    )


def test_an_eta_that_slips_beyond_the_tolerance_is_an_sms_for_an_a_part(rules, twilio, contact_for):
    # given an A-part order line due on the 10th
    account, part = AccountFactory(), PartFactory(criticality="A")
    order = upsert(account, part, eta=ETA)
    requester = contact_for(order.lines.get())

    # when the ERP moves the ETA by one hour, then by a day
    upsert(account, part, eta=ETA + timedelta(hours=1))
    assert sms_to(twilio, requester.phone) == []
    upsert(account, part, eta=ETA + timedelta(days=1))

    # then one SMS says it is late (the one-hour move is within the 2-hour tolerance)
    [sms] = sms_to(twilio, requester.phone)
    assert "is late" in sms["body"]
    assert "11 Nov 2026" in sms["body"]


def test_an_exception_on_an_a_part_reaches_the_requester_and_the_planner(rules, twilio, contact_for):
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    planner = contact_for(line, role="planner")

    apply_status_update(line_id=line.pk, status="exception", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    assert "a problem holds up" in sms_to(twilio, requester.phone)[0]["body"]
    assert len(sms_to(twilio, planner.phone)) == 1


def test_an_override_is_emailed_to_the_planner(rules, twilio, mailbox, contact_for, supervisor):
    # given a planner on the order of a C part
    line = OrderLineFactory(part__criticality="C")
    planner = contact_for(line, role="planner")

    # when a supervisor overrides the line's status, and the throttle window passes
    from freezegun import freeze_time

    from notifications.services.batches import notifications_sweep
    from orders.services import line_status_override

    line_status_override(
        line_id=line.pk,
        status="packed",
        actor=Actor.person(supervisor),
        reason_code="data_correction",
        reason_text="Packed yesterday, the scan was lost.",
    )
    with freeze_time(timezone.now() + timedelta(minutes=11)):
        notifications_sweep()

    # then the planner has an email about the override
    [message] = mailbox.to(planner.email)
    assert "Override" in message["Subject"]
    assert "Packed" in text_part(message)


def test_a_verified_delivery_is_emailed_to_requester_and_planner(rules, twilio, mailbox, contact_for):
    line = OrderLineFactory(part__criticality="B")
    requester, planner = contact_for(line), contact_for(line, role="planner")

    apply_status_update(line_id=line.pk, status="verified", occurred_at=timezone.now(), actor=Actor.integration("FSM"))

    assert "confirmed on site" in text_part(mailbox.to(requester.email)[0])
    assert len(mailbox.to(planner.email)) == 1


def test_a_discrepancy_is_emailed_to_the_planner(rules, twilio, mailbox, contact_for):
    from overrides.models import Discrepancy
    from overrides.services.discrepancies import discrepancy_open

    line = OrderLineFactory()
    planner = contact_for(line, role="planner")

    discrepancy_open(
        kind=Discrepancy.Kind.SOURCES_DISAGREE,
        line=line,
        summary="EWM shipped, SAP not",
        evidence=[],
        fingerprint="fp-1",
    )

    [message] = mailbox.to(planner.email)
    assert "EWM shipped, SAP not" in text_part(message)


def test_a_stale_alert_is_emailed_to_the_planner(rules, twilio, mailbox, contact_for, advance):
    from overrides.models import StaleStatusRule
    from overrides.services.alerts import stale_alerts_scan

    line = OrderLineFactory(part__criticality="B")
    planner = contact_for(line, role="planner")
    advance(line, "packed")
    StaleStatusRule.objects.create(status="packed", threshold=timedelta(hours=1))

    stale_alerts_scan()

    [message] = mailbox.to(planner.email)
    assert f"line {line.number}" in message["Subject"]


def test_a_requested_status_link_is_emailed_to_the_requester_at_once(rules, twilio, mailbox, contact_for):
    # given a requester whose link expired, asking for a fresh one (published by the portal)
    line = OrderLineFactory(part__criticality="C")
    requester = contact_for(line)
    contact_for(line, role="technician")

    outbox_publish(
        topic="status_link.renewal_requested",
        order=line.order,
        payload={
            "order_public_id": str(line.order.public_id),
            "line_public_id": str(line.public_id),
            "audience": "customer",
        },
    )

    # then the requester (only) gets an email with the link
    [message] = mailbox.to(requester.email)
    _link, issued = status_link_in(text_part(message))
    assert (issued.order, issued.audience) == (line.order, "customer")
    assert Notification.objects.filter(kind="link_renewal").count() == 1
    assert OutboxEvent.objects.get(topic="status_link.renewal_requested").dispatched_at is not None


def test_a_test_order_notifies_nobody(rules, twilio, contact_for):
    line = OrderLineFactory(part__criticality="A", order__is_test=True)
    requester = contact_for(line)

    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    assert sms_to(twilio, requester.phone) == []


def test_a_recipient_who_switched_sms_off_gets_an_email_instead(rules, twilio, mailbox, contact_for):
    from notifications.models import RecipientPreference

    line = OrderLineFactory(part__criticality="A")
    user = UserFactory()
    requester = contact_for(line, user=user)
    RecipientPreference.objects.create(user=user, sms_enabled=False)

    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    assert sms_to(twilio, requester.phone) == []
    assert len(mailbox.to(requester.email)) == 1


def test_a_preference_saved_with_another_spelling_of_the_email_is_honoured(rules, twilio, mailbox, contact_for):
    from notifications.models import RecipientPreference

    # given a requester whose email the ERP writes in mixed case, and her preference: no SMS
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line, email="Anna.Schmidt@Customer.de")
    RecipientPreference.objects.create(email="anna.schmidt@CUSTOMER.de", sms_enabled=False)

    # when the A part ships
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    # then she gets an email, not an SMS
    assert sms_to(twilio, requester.phone) == []
    assert len(mailbox.to("anna.schmidt@customer.de")) == 1


def test_an_eta_that_creeps_later_in_small_steps_is_told_once_it_adds_up(rules, twilio, contact_for):
    # given an A-part order line due on the 10th (the SMS rule's tolerance is two hours)
    account, part = AccountFactory(), PartFactory(criticality="A")
    order = upsert(account, part, eta=ETA)
    requester = contact_for(order.lines.get())

    # when the ERP moves the ETA one hour later, twice: nothing yet
    for hours in (1, 2):
        upsert(account, part, eta=ETA + timedelta(hours=hours))
    assert sms_to(twilio, requester.phone) == []

    # then the third hour makes the slip: one SMS; three more hours after it make the next
    upsert(account, part, eta=ETA + timedelta(hours=3))
    assert len(sms_to(twilio, requester.phone)) == 1
    for hours in (4, 5):
        upsert(account, part, eta=ETA + timedelta(hours=hours))
    assert len(sms_to(twilio, requester.phone)) == 1
    upsert(account, part, eta=ETA + timedelta(hours=6))
    assert len(sms_to(twilio, requester.phone)) == 2


def test_a_carrier_that_moves_its_eta_by_a_day_is_an_sms_for_an_a_part(rules, twilio, contact_for):
    from orders.services.shipments import ShipmentData, shipment_record, shipment_track

    # given a shipped A part on a carrier's shipment due on the 10th
    line = OrderLineFactory(part__criticality="A")
    requester = contact_for(line)
    shipment = shipment_record(
        line_id=line.pk,
        quantity=line.quantity,
        data=ShipmentData(carrier="DHLX", tracking_number="JD0001", eta=ETA),
        source_system="sap",
        occurred_at=timezone.now(),
    )

    # when the carrier reports that it arrives a day later
    shipment_track(shipment_id=shipment.pk, data=ShipmentData(eta=ETA + timedelta(days=1)), occurred_at=timezone.now())

    # then the requester hears of it
    [sms] = sms_to(twilio, requester.phone)
    assert "is late" in sms["body"]


def test_a_revoked_technician_link_renewed_goes_back_to_the_technician_with_delivery_confirmation(
    rules, twilio, mailbox, contact_for
):
    from django.test import Client

    from portal.models import LinkAudience, LinkPurpose
    from portal.services.links import status_link_issue, status_link_revoke

    # given a technician's confirm link for one line, withdrawn by mistake
    line = OrderLineFactory(part__criticality="C")
    requester = contact_for(line)
    technician = contact_for(line, role="technician")
    issued = status_link_issue(
        order=line.order, line=line, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM
    )
    status_link_revoke(link=issued.link)

    # when the technician standing at the machine asks for a fresh one on the 410 page
    assert Client().post(issued.path + "renew/").status_code == 200

    # then the technician (not the customer) gets a working link that confirms delivery again
    assert mailbox.to(requester.email) == []
    [message] = mailbox.to(technician.email)
    _link, renewed = status_link_in(text_part(message))
    assert (renewed.order, renewed.audience, renewed.purpose) == (line.order, "technician", "view_confirm")


def test_a_shipped_parts_message_gives_the_carriers_eta_as_the_portal_does(rules, twilio, contact_for):
    from orders.services.shipments import ShipmentData, shipment_record

    # given an A part planned for the 10th, which the carrier will bring on the 7th
    account, part = AccountFactory(), PartFactory(criticality="A")
    order = upsert(account, part, eta=ETA)
    line = order.lines.get()
    requester = contact_for(line)
    carrier = ShipmentData(
        carrier="UPSN", tracking_number="1Z999AA10123456784", eta=datetime(2026, 11, 7, 9, 0, tzinfo=UTC)
    )
    shipment_record(line_id=line.pk, quantity=1, data=carrier, source_system="sap", occurred_at=timezone.now())

    # when it ships
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=Actor.integration("SAP"))

    # then its SMS gives the carrier's ETA, the one the customer's page shows, not the planned one
    [sms] = sms_to(twilio, requester.phone)
    assert "7 Nov 2026" in sms["body"] and "10 Nov 2026" not in sms["body"]
