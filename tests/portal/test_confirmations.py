"""Technicians confirm on-site delivery: one `verified` event per confirmation key whatever the
retries, conflicts shown instead of applied, the photo kept as evidence, the customer sees it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from orders.models import ActorKind, StatusEvent
from orders.services import Actor, apply_status_update
from portal.models import ConfirmationState, DeliveryConfirmation, LinkAudience, LinkPurpose
from portal.services.links import status_link_issue

pytestmark = pytest.mark.django_db


def _confirmation(target, **changes) -> dict:
    data = {
        "key": "0b6f3c1e-aaaa-4bbb-8ccc-123456789abc",
        "line": str(target.public_id),
        "code": target.part.number,
        "quantity": str(target.quantity),
        "note": "Left at the gate house",
        "confirmed_at": "2026-11-02T12:00:00+01:00",
    }
    return {**data, **changes}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_three_replays_of_one_confirmation_make_one_verified_event(showcase, technician):
    line = showcase["30"]
    client = _client(technician)

    answers = [client.post("/tech/confirmations/", _confirmation(line)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.json()["replayed"] for answer in answers] == [False, True, True]
    (event,) = StatusEvent.objects.filter(line=line, to_status="verified")
    assert (event.outcome, event.actor_kind, event.actor_user) == ("applied", ActorKind.USER, technician)
    assert "Left at the gate house" in event.reason_text
    line.refresh_from_db()
    assert line.status == "verified"


def test_the_photo_is_kept_as_evidence_on_the_event(showcase, technician, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    line = showcase["30"]
    photo = SimpleUploadedFile("gate.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", content_type="image/jpeg")

    _client(technician).post("/tech/confirmations/", {**_confirmation(line), "photo": photo})

    confirmation = DeliveryConfirmation.objects.get()
    assert confirmation.photo.name.startswith("delivery-photos/")
    assert confirmation.photo.name in StatusEvent.objects.get(pk=confirmation.event_id).reason_text


def test_a_cancelled_line_is_a_conflict_for_the_technician_and_nothing_is_applied(showcase, technician, sap, t0):
    line = showcase["10.2"]
    apply_status_update(line_id=line.pk, status="cancelled", occurred_at=t0.replace(hour=20), actor=sap)

    answer = _client(technician).post("/tech/confirmations/", _confirmation(line))

    assert answer.status_code == 409
    assert "cancelled" in answer.json()["message"]
    assert not StatusEvent.objects.filter(line=line, to_status="verified").exists()
    assert DeliveryConfirmation.objects.get().state == ConfirmationState.CONFLICT


def test_another_quantity_waits_for_the_technician_who_confirms_anyway(showcase, technician):
    line = showcase["30"]
    client = _client(technician)

    first = client.post("/tech/confirmations/", _confirmation(line, quantity="5"))
    replay = client.post("/tech/confirmations/", _confirmation(line, quantity="5"))
    decided = client.post("/tech/confirmations/", _confirmation(line, quantity="5", decision="confirm_anyway"))

    assert (first.status_code, replay.status_code, decided.status_code) == (409, 409, 200)
    assert "is for 6, you confirm 5" in first.json()["message"]
    (event,) = StatusEvent.objects.filter(line=line, to_status="verified")
    assert "quantity 5 of 6" in event.reason_text


def test_a_discarded_conflict_applies_nothing(showcase, technician):
    line = showcase["10.2"]  # awaiting part: not shipped yet
    client = _client(technician)

    first = client.post("/tech/confirmations/", _confirmation(line))
    discarded = client.post("/tech/confirmations/", _confirmation(line, decision="discard"))

    assert first.status_code == 409
    assert discarded.json()["state"] == "discarded"
    assert not StatusEvent.objects.filter(line=line, to_status="verified").exists()


def test_a_barcode_of_another_part_is_refused_naming_the_field(showcase, technician):
    answer = _client(technician).post("/tech/confirmations/", _confirmation(showcase["30"], code="HV-2040"))

    assert answer.status_code == 400
    assert "code" in answer.json()["errors"]
    assert not DeliveryConfirmation.objects.exists()


@pytest.mark.parametrize("field", ["key", "quantity", "confirmed_at", "line"])
def test_bad_input_is_a_400_naming_the_field(showcase, technician, field):
    bad = {"key": "short", "quantity": "-1", "confirmed_at": "yesterday", "line": "not-a-uuid"}[field]

    answer = _client(technician).post("/tech/confirmations/", _confirmation(showcase["30"], **{field: bad}))

    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_the_order_line_barcode_works_too(showcase, technician, order):
    line = showcase["30"]

    answer = _client(technician).post("/tech/confirmations/", _confirmation(line, code=f"{order.number}/30".lower()))

    assert answer.status_code == 200


def test_the_customer_sees_the_verification_at_once(order, showcase, technician, customer):
    _client(technician).post("/tech/confirmations/", _confirmation(showcase["30"]))

    page = _client(customer).get(f"/portal/orders/{order.public_id}/").content.decode()

    assert "Received on site" in page
    assert "technician" not in page.split('id="timeline"')[1].split("</ol>")[0]


def test_a_technician_link_that_may_confirm_records_the_link_as_actor(order, showcase):
    issued = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM)

    answer = Client().post(issued.path + "confirm/", _confirmation(showcase["30"]))

    assert answer.status_code == 200
    event = StatusEvent.objects.get(line=showcase["30"], to_status="verified")
    assert event.actor_user is None
    assert event.actor_label == f"status-link:{issued.link.public_id}"


def test_a_key_used_for_one_line_is_refused_for_another(showcase, technician):
    client = _client(technician)
    client.post("/tech/confirmations/", _confirmation(showcase["30"]))

    answer = client.post("/tech/confirmations/", _confirmation(showcase["20"]))

    assert answer.status_code == 400
    assert "key" in answer.json()["errors"]


def test_a_person_actor_is_the_technician(technician):
    assert Actor.person(technician).user == technician
