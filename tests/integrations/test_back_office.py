"""Back office: inbox and message detail, quarantine → mapping → replay, dry run, depot sheets."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.models import InboundMessage, MessageState, StatusMapping, Transport
from integrations.services.inbox import inbound_message_receive
from orders.models import OrderLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client):
    return admin_client


def _sheet(*rows: str) -> str:
    return "order,line,status,time,site,clerk,note\n" + "".join(f"{row}\n" for row in rows)


def test_inbox_list_filters_by_state_without_a_query_per_row(staff, depot_source, canonical_source):
    for index in range(3):
        inbound_message_receive(source=canonical_source, raw=f"broken {index}", transport=Transport.WEBHOOK)
    staff.get("/admin/integrations/inboundmessage/")  # the person's preferences are read once, then cached
    with CaptureQueriesContext(connection) as few:
        staff.get("/admin/integrations/inboundmessage/")
    for index in range(20):
        inbound_message_receive(source=depot_source, raw=f"broken {index}", transport=Transport.FILE)

    with CaptureQueriesContext(connection) as many:
        response = staff.get("/admin/integrations/inboundmessage/?state=received")

    assert response.status_code == 200
    assert len(many) == len(few)
    assert response.content.count(b"depot-lyon") >= 20


def test_quarantined_message_offers_the_mapping_and_saving_it_replays(
    staff, depot_source, order_line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = inbound_message_receive(
            source=depot_source, raw=_sheet("SO-1000001,10,LOADED,2026-11-02 08:00,lyon,ana,"), transport=Transport.FILE
        )
    message.refresh_from_db()
    assert message.state == MessageState.QUARANTINED

    detail = staff.get(f"/admin/integrations/inboundmessage/{message.pk}/change/").content.decode()
    assert "Create the mapping and replay" in detail
    assert f"/admin/integrations/statusmapping/add/?source={depot_source.pk}&amp;external_code=LOADED" in detail

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/integrations/statusmapping/add/",
            {
                "source": depot_source.pk,
                "external_code": "LOADED",
                "qualifier": "",
                "status": "shipped",
                "reason_code": "",
                "description": "Loaded on the carrier's truck",
                "version": 1,
                "valid_from_0": "2026-01-01",
                "valid_from_1": "00:00:00",
            },
        )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.state == MessageState.PROCESSED
    assert OrderLine.objects.get(pk=order_line.pk).status == "shipped"
    assert StatusMapping.objects.get(external_code="LOADED").history.count() == 1


def test_message_detail_shows_raw_payload_parsed_facts_and_the_events_it_produced(
    staff, depot_source, order_line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = inbound_message_receive(
            source=depot_source, raw=_sheet("SO-1000001,10,PACKED,2026-11-02 08:00,lyon,ana,"), transport=Transport.FILE
        )

    page = staff.get(f"/admin/integrations/inboundmessage/{message.pk}/change/").content.decode()

    assert "SO-1000001,10,PACKED" in page
    assert "&quot;code&quot;: &quot;PACKED&quot;" in page
    assert f"/admin/orders/orderline/{order_line.pk}/change/" in page
    assert "received → packed" in page


def test_replay_action_requeues_dead_letters(staff, canonical_source, django_capture_on_commit_callbacks):
    message, _ = inbound_message_receive(
        source=canonical_source, raw="{}", transport=Transport.WEBHOOK, failure="body is empty"
    )

    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            "/admin/integrations/inboundmessage/",
            {"action": "replay", "_selected_action": [message.pk]},
        )

    message.refresh_from_db()
    assert message.attempts == 1  # processed again: the JSON schema now names what is missing
    assert message.state == MessageState.DEAD
    assert "(top level)" in message.last_error


def test_dry_run_page_shows_what_a_payload_would_do(staff, canonical_source, order_line):
    payload = json.dumps(
        {"statuses": [{"order": "SO-1000001", "line": "10", "status": "packed", "occurred_at": "2026-11-02T08:00:00Z"}]}
    )

    page = staff.post(
        "/admin/integrations/inboundmessage/dry-run/", {"source": canonical_source.pk, "payload": payload}
    )

    assert page.status_code == 200
    assert b"<td>packed</td><td>received</td><td>applied</td>" in page.content
    assert OrderLine.objects.get(pk=order_line.pk).status == "received"


def test_depot_sheet_upload_makes_one_paper_message_per_row(
    staff, depot_source, order_line, django_capture_on_commit_callbacks
):
    sheet = _sheet(
        "SO-1000001,10,PICKED,02.11.2026 08:00,lyon,ana,",
        ",,,,,,",
        "SO-1000001,10,PACKED,2026-11-02 09:30,lyon,ana,double-boxed",
    ).encode("cp1252")
    upload = SimpleUploadedFile("lyon-2026-11-02.csv", sheet, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/integrations/inboundmessage/upload-sheet/", {"source": depot_source.pk, "sheet": upload}
        )

    assert response.status_code == 302
    messages = InboundMessage.objects.order_by("id")
    assert [m.provenance for m in messages] == [
        "paper sheet lyon-2026-11-02.csv, row 2",
        "paper sheet lyon-2026-11-02.csv, row 4",
    ]
    assert all(m.state == MessageState.PROCESSED and m.transport == Transport.FILE for m in messages)
    assert OrderLine.objects.get(pk=order_line.pk).status == "packed"


def test_sheet_with_wrong_columns_is_refused_with_the_reason(staff, depot_source):
    upload = SimpleUploadedFile("x.csv", b"order;line;status\n1;2;3\n", content_type="text/csv")

    response = staff.post(
        "/admin/integrations/inboundmessage/upload-sheet/", {"source": depot_source.pk, "sheet": upload}
    )

    assert response.status_code == 200
    assert "missing column(s)" in response.content.decode()
    assert not InboundMessage.objects.exists()


def test_blank_sheet_prints_the_columns(staff):
    page = staff.get("/admin/integrations/inboundmessage/blank-sheet/").content.decode()

    for column in ("order", "line", "status", "time", "site", "clerk", "note"):
        assert f"<th>{column}</th>" in page


def test_source_list_shows_freshness(staff, canonical_source):
    page = staff.get("/admin/integrations/sourcesystem/").content.decode()

    assert "overdue" in page


def test_line_timeline_links_each_event_to_the_message_that_made_it(
    staff, depot_source, order_line, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = inbound_message_receive(
            source=depot_source, raw=_sheet("SO-1000001,10,PICKED,2026-11-02 08:00,lyon,ana,"), transport=Transport.FILE
        )

    page = staff.get(f"/admin/orders/orderline/{order_line.pk}/change/").content.decode()

    assert f'<a href="/admin/integrations/inboundmessage/{message.pk}/change/">#{message.pk}</a>' in page
