"""POST /api/v1/inbound/<source>/: signature, storage before acknowledgement, duplicates, limits."""

import json
import time
import uuid

import pytest

from integrations.models import InboundMessage, MessageState
from orders.models import OrderLine, StatusEvent

pytestmark = pytest.mark.django_db


def _status_message(message_id="m-1", status="shipped", order="SO-1000001", line="10"):
    return json.dumps(
        {
            "message_id": message_id,
            "statuses": [{"order": order, "line": line, "status": status, "occurred_at": "2026-11-02T10:00:00Z"}],
        }
    )


def test_signed_message_is_stored_answered_202_and_applied(
    canonical_source, order_line, post_signed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("crm-json", _status_message())

    assert response.status_code == 202
    # the receipt is opaque: a UUID, never our integer id
    assert str(uuid.UUID(response.json()["id"])) == response.json()["id"]
    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert message.state == MessageState.PROCESSED
    assert OrderLine.objects.get(pk=order_line.pk).status == "shipped"
    event = StatusEvent.objects.get(line=order_line, to_status="shipped")
    assert event.inbound_message_id == message.pk and event.source_system == "crm-json"


def test_duplicate_answers_200_with_the_original_id(canonical_source, order_line, post_signed):
    first = post_signed("crm-json", _status_message())
    again = post_signed("crm-json", _status_message())

    assert again.status_code == 200
    assert again.json() == {"id": first.json()["id"], "duplicate": True}
    assert InboundMessage.objects.count() == 1


def test_message_without_own_id_is_deduplicated_by_content(canonical_source, post_signed):
    body = json.dumps(
        {"statuses": [{"order": "X", "line": "1", "status": "shipped", "occurred_at": "2026-11-02T10:00:00Z"}]}
    )

    assert post_signed("crm-json", body).status_code == 202
    assert post_signed("crm-json", body).status_code == 200
    assert InboundMessage.objects.get().message_id.startswith("sha256:")


@pytest.mark.parametrize(
    ("secret", "age", "reason"),
    [
        ("another-secret-0123456789", 0, "does not match"),
        (None, 400, "outside the tolerance"),
    ],
)
def test_bad_signature_is_401_and_nothing_is_stored(canonical_source, post_signed, secret, age, reason):
    kwargs = {"timestamp": int(time.time()) - age}
    if secret:
        kwargs["secret"] = secret

    response = post_signed("crm-json", _status_message(), **kwargs)

    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert not InboundMessage.objects.exists()


def test_missing_signature_is_401(canonical_source, client):
    response = client.post("/api/v1/inbound/crm-json/", _status_message(), content_type="application/json")

    assert response.status_code == 401
    assert "missing X-Signature" in response.json()["error"]


@pytest.mark.parametrize(
    "header",
    ["t=" + "9" * 400 + ",v1=00", "t={now},v1=\u00e9t\u00e9", "t={now},v1=", "t=-{now},v1=00", "v1=00,t="],
)
def test_malformed_signature_header_is_401_not_a_500(canonical_source, client, header):
    header = header.format(now=int(time.time()))

    response = client.post(
        "/api/v1/inbound/crm-json/", _status_message(), content_type="application/json", HTTP_X_SIGNATURE=header
    )

    assert response.status_code == 401
    assert not InboundMessage.objects.exists()


def test_previous_secret_works_during_rotation_only(canonical_source, post_signed):
    from datetime import timedelta

    from django.utils import timezone

    canonical_source.previous_secret = "old-secret-0123456789"
    canonical_source.previous_secret_expires_at = timezone.now() + timedelta(hours=1)
    canonical_source.save()
    assert post_signed("crm-json", _status_message("a"), secret="old-secret-0123456789").status_code == 202

    canonical_source.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    canonical_source.save()
    assert post_signed("crm-json", _status_message("b"), secret="old-secret-0123456789").status_code == 401


def test_unknown_or_inactive_source_is_404(canonical_source, post_signed):
    assert post_signed("nobody", _status_message()).status_code == 404
    canonical_source.active = False
    canonical_source.save()
    assert post_signed("crm-json", _status_message()).status_code == 404


def test_body_over_the_limit_is_413(canonical_source, post_signed, settings):
    settings.INBOUND_MAX_BYTES = 100

    response = post_signed("crm-json", "x" * 101)

    assert response.status_code == 413
    assert not InboundMessage.objects.exists()


def test_unparseable_body_is_stored_answered_202_and_parked_with_its_error(
    canonical_source, post_signed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("crm-json", '{"statuses": [{"order": "SO-1", ')

    assert response.status_code == 202
    message = InboundMessage.objects.get()
    assert message.state == MessageState.DEAD
    assert "not JSON" in message.last_error
    assert message.raw == '{"statuses": [{"order": "SO-1", '


def test_binary_body_with_nul_bytes_is_kept_and_parked_not_a_500(canonical_source, post_signed):
    response = post_signed("crm-json", b"\x00\xff\xfeboom", content_type="application/octet-stream")

    assert response.status_code == 202
    message = InboundMessage.objects.get()
    assert message.state == MessageState.DEAD
    assert "not UTF-8" in message.last_error
    assert "\\x00" in message.raw


def test_get_is_not_allowed(canonical_source, client):
    assert client.get("/api/v1/inbound/crm-json/").status_code == 405
