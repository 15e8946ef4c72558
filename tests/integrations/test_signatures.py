"""Webhook signatures v2 cover the source code in the URL; v1 (body only) during the transition only."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from integrations.models import InboundMessage, MessageFormat, SourceSystem
from integrations.signatures import signature_header, signature_header_v1
from tests.integrations.conftest import SECRET

pytestmark = pytest.mark.django_db

BODY = json.dumps({"message_id": "m-1", "statuses": []}).encode()


@pytest.fixture
def two_sources(make_source):
    """Two sources that (carelessly) share one secret."""
    return make_source("wms-a", MessageFormat.CANONICAL_JSON), make_source("wms-b", MessageFormat.CANONICAL_JSON)


@pytest.fixture
def v1_until(settings):
    """Set the last day of the transition relative to today (UTC): +1 still open, 0 over."""

    def set_until(days_from_today: int | None) -> None:
        today = timezone.now().date()
        settings.INBOUND_SIGNATURE_V1_UNTIL = None if days_from_today is None else today + timedelta(days_from_today)

    return set_until


def _post(client, source_code: str, header: str):
    return client.generic(
        "POST", f"/api/v1/inbound/{source_code}/", BODY, content_type="application/json", HTTP_X_SIGNATURE=header
    )


def test_a_v2_signature_for_one_source_is_refused_at_another_sources_url(client, two_sources):
    # given a message signed (v2) for source A, whose secret source B shares
    header = signature_header(secret=SECRET, source_code="wms-a", body=BODY)

    # when it is replayed against B's URL, and then sent where it belongs
    replayed = _post(client, "wms-b", header)
    delivered = _post(client, "wms-a", header)

    # then B refuses it and stores nothing; A takes it
    assert replayed.status_code == 401
    assert "does not match" in replayed.json()["error"]
    assert delivered.status_code == 202
    assert list(InboundMessage.objects.values_list("source__code", flat=True)) == ["wms-a"]


def test_v1_is_accepted_while_the_transition_lasts(client, two_sources, v1_until, caplog):
    # given the transition ends tomorrow
    v1_until(1)

    # when a source still signs the old way
    response = _post(client, "wms-a", signature_header_v1(secret=SECRET, body=BODY))

    # then the message is taken, and the operator is told which source has to move to v2
    assert response.status_code == 202
    assert "source wms-a signs with v1" in caplog.text


@pytest.mark.parametrize("days_from_today", [0, -30, None], ids=["from the day", "after", "no transition"])
def test_v1_is_refused_once_the_transition_is_over(client, two_sources, v1_until, days_from_today):
    # given the transition is over (or there is none)
    v1_until(days_from_today)

    # when a source still signs the old way
    response = _post(client, "wms-a", signature_header_v1(secret=SECRET, body=BODY))

    # then it is refused with a reason that says what to do, and nothing is stored
    assert response.status_code == 401
    assert "v1 is no longer accepted" in response.json()["error"]
    assert not InboundMessage.objects.exists()


def test_a_source_moving_over_may_send_both_and_v2_is_what_counts_afterwards(client, two_sources, v1_until):
    # given the transition is over, and a header carrying a valid v2 beside a v1
    v1_until(0)
    v2 = signature_header(secret=SECRET, source_code="wms-a", body=BODY)
    v1 = signature_header_v1(secret=SECRET, body=BODY).split(",")[1]

    # when it is sent to its own source, and replayed to the other
    own, other = _post(client, "wms-a", f"{v2},{v1}"), _post(client, "wms-b", f"{v2},{v1}")

    # then only its own source takes it: the v1 beside it opens no other door
    assert (own.status_code, other.status_code) == (202, 401)


@pytest.mark.parametrize(
    "header",
    ["t=" + "9" * 400 + ",v2=00", "t={now},v2=é" + "0" * 63, "t={now},v2=", "t=abc,v2=00"],
    ids=["huge t", "non-ASCII digest", "empty digest", "t not a number"],
)
def test_a_malformed_signature_is_a_401_never_a_server_error(client, two_sources, header):
    response = _post(client, "wms-a", header.replace("{now}", str(int(timezone.now().timestamp()))))

    assert response.status_code == 401


def test_demo_sources_get_distinct_secrets_printed_for_the_developer(settings, capsys):
    # given a development checkout
    settings.DEBUG = True

    # when the demo sources are created
    call_command("seed_demo_sources")

    # then no two share a secret, and each secret is printed beside its source
    sources = list(SourceSystem.objects.all())
    secrets = [source.secret for source in sources]
    assert len(sources) > 1
    assert len(set(secrets)) == len(secrets)
    assert all(len(secret) >= 32 for secret in secrets)
    printed = capsys.readouterr().out
    assert all(f"{source.code}: {source.secret}" in printed for source in sources)


def test_a_demo_database_with_the_old_shared_secret_gets_distinct_secrets(make_source):
    # given demo sources created before, all with the one shared demo secret
    for code in ("SAP-ERP", "EWM-RTM"):
        make_source(code, secret="demo-webhook-secret-change-me")

    # when the demo sources are seeded again (every `make run` does)
    call_command("seed_demo_sources")

    # then the old ones have secrets of their own
    old = SourceSystem.objects.filter(code__in=["SAP-ERP", "EWM-RTM"]).values_list("secret", flat=True)
    assert "demo-webhook-secret-change-me" not in old
    assert len(set(old)) == 2
