"""Hostile input at the webhook: whatever arrives, the answer is never a 5xx, every 2xx has its
row, and after the retry schedule (a fixed clock, driven here) every message is in an end state
(processed, quarantined or dead) with a reason. Complete resends of truncated messages are
stored and processed; the same id with another body is a new revision.

The bodies follow the formats' public standards (X12 214 envelopes, SAP DELVRY IDoc XML, JSON
RFC 8259) and the ways they break in the field or in an attacker's hands.
"""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from integrations.models import ErrorKind, InboundMessage, MessageFormat, MessageState, SourceKind, StatusMapping
from integrations.services.processing import inbound_message_process
from orders.models import LineReference, OrderLine, StatusEvent
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent / "fixtures"
END_STATES = {MessageState.PROCESSED, MessageState.QUARANTINED, MessageState.DEAD}
WAITING = [MessageState.RECEIVED, MessageState.RETRYING]
NUL, SURROGATE = "\\u0000", "\\ud800"  # as JSON escapes: valid JSON, not storable text
X12_COMPLETE_906 = (FIXTURES / "x12" / "single_shipment.edi").read_text().replace("905", "906")
X12_TRUNCATED_906 = (FIXTURES / "x12" / "truncated_no_iea.edi").read_text()
SAP_COMPLETE = (FIXTURES / "sap" / "shpcon_pgi.xml").read_text()
SAP_TRUNCATED = (FIXTURES / "sap" / "truncated.xml").read_text()


@pytest.fixture
def sources(make_source):
    json_source = make_source("crm-json", MessageFormat.CANONICAL_JSON)
    x12 = make_source("odfl", MessageFormat.X12_214, kind=SourceKind.CARRIER, time_zone="America/Chicago")
    sap = make_source("sap-ewm", MessageFormat.SAP_IDOC_XML, kind=SourceKind.WMS, time_zone="Europe/Berlin")
    scan = make_source("scan-rtm", MessageFormat.MQTT_SCAN, kind=SourceKind.DEPOT)
    depot = make_source("depot-lyon", MessageFormat.CSV_DEPOT, kind=SourceKind.DEPOT)
    for source, code, status in (
        (x12, "X3", "packed"),
        (x12, "AF", "shipped"),
        (x12, "X6", "in_transit"),
        (sap, "PGI", "shipped"),
        (scan, "PICKED", "picking"),
        (depot, "PICKED", "picking"),
    ):
        StatusMapping.objects.create(source=source, external_code=code, status=status)
    return {source.code: source for source in (json_source, x12, sap, scan, depot)}


@pytest.fixture
def lines(sources):
    """SO-1000001/10 (by order and line), a line on bill of lading BOL4471190 (the X12 fixtures)
    and one on SAP delivery item 0080012346/000010 (the IDoc fixtures)."""
    plain = OrderLineFactory(order__number="SO-1000001", number="10", quantity=5)
    carried = OrderLineFactory(order__number="SO1000123", number="10", quantity=1)
    LineReference.objects.create(line=carried, kind=LineReference.Kind.BILL_OF_LADING, value="BOL4471190")
    delivered = OrderLineFactory(order__number="SO-1000555", number="10", quantity=2)
    LineReference.objects.create(line=delivered, kind=LineReference.Kind.SAP_DELIVERY_ITEM, value="0080012346/000010")
    return {"plain": plain, "carried": carried, "delivered": delivered}


def _status(**fields) -> dict:
    return {"order": "SO-1000001", "line": "10", "status": "shipped", "occurred_at": "2026-11-02T10:00:00Z", **fields}


def _canonical(message_id="m-1", **fields) -> str:
    return json.dumps({"message_id": message_id, "statuses": [_status(**fields)]})


def _with_escape(template: str, escape: str) -> bytes:
    """The JSON text with ESCAPE (a JSON escape sequence) where the template says @."""
    return template.replace("@", escape).encode()


STATUS_TEXT_FIELDS = (
    "order",
    "line",
    "status",
    "qualifier",
    "location",
    "reason_code",
    "text",
    "tracking_number",
    "carrier",
    "bill_of_lading",
    "pro_number",
    "ship_from",
)
SCAN_TEXT_FIELDS = ("scan_id", "barcode", "event", "site")


def _escaped_everywhere() -> list[tuple[str, str, bytes]]:
    """NUL and a lone surrogate in every string field of the JSON formats, the id included."""
    cases = []
    for name, escape in (("nul", NUL), ("surrogate", SURROGATE)):
        cases.append((f"json-message-id-{name}", "crm-json", _with_escape(_canonical("m-@"), escape)))
        for field in STATUS_TEXT_FIELDS:
            value = {"order": "SO-1000001", "line": "10", "status": "shipped"}.get(field, "x")
            body = _canonical(f"m-{field}-{name}", **{field: value + "@"})
            cases.append((f"json-{field}-{name}", "crm-json", _with_escape(body, escape)))
        order = {
            "number": "SO-9@",
            "account": {"number": "ACC-@", "name": "@", "region": "@"},
            "customer_reference": "@",
            "asset_serial_number": "@",
            "lines": [{"number": "1@", "part": {"number": "P-@", "description": "@"}, "quantity": 1, "site": "@"}],
        }
        body = json.dumps({"message_id": f"order-{name}", "orders": [order]})
        cases.append((f"json-order-fields-{name}", "crm-json", _with_escape(body, escape)))
        for field in SCAN_TEXT_FIELDS:
            scan = {"scan_id": f"S-{field}", "barcode": "SO-1000001/10", "event": "PICKED", "site": "rtm"}
            scan[field] += "@"
            scan["time"] = "2026-11-02T10:00:00Z"
            cases.append((f"scan-{field}-{name}", "scan-rtm", _with_escape(json.dumps(scan), escape)))
    return cases


def _deep_json(depth: int) -> bytes:
    return ('{"message_id": "deep", "statuses": ' + "[" * depth + "]" * depth + "}").encode()


BILLION_LAUGHS_X12_STYLE = "ISA*" + "*" * 200_000  # a header that never ends
XML_EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE DELVRY03 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<DELVRY03><IDOC><EDI_DC40><DOCNUM>&xxe;</DOCNUM></EDI_DC40></IDOC></DELVRY03>"
)
DEEP_XML = "<DELVRY03>" + "<E1EDL20>" * 50_000 + "</E1EDL20>" * 50_000 + "</DELVRY03>"

CASES: list[tuple[str, str, bytes]] = [
    ("empty", "crm-json", b""),
    ("blank", "crm-json", b" \r\n\t "),
    ("invalid-utf8", "crm-json", b'{"message_id": "\xff\xfe\xfa"}'),
    ("utf16-with-bom", "crm-json", _canonical("utf16").encode("utf-16")),
    ("utf16-le-without-bom", "crm-json", _canonical("utf16le").encode("utf-16-le")),
    ("nul-byte", "crm-json", b'{"message_id": "a\x00b"}'),
    ("huge-over-the-limit", "crm-json", b"[" + b"0," * 600_000 + b"0]"),
    ("huge-text-under-the-limit", "crm-json", _canonical("huge", text="x" * 900_000).encode()),
    ("many-statuses", "crm-json", json.dumps({"message_id": "many", "statuses": [_status()] * 5000}).encode()),
    ("deep-arrays", "crm-json", _deep_json(100_000)),
    ("deep-objects", "crm-json", ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()),
    ("deep-at-the-limit", "crm-json", _deep_json(30)),
    ("deep-scan", "scan-rtm", ("[" * 100_000 + "]" * 100_000).encode()),
    ("not-an-object", "crm-json", b'"just a string"'),
    (
        "sequence-2-63",
        "crm-json",
        json.dumps({"message_id": "seq63", "sequence": 2**63, "statuses": [_status()]}).encode(),
    ),
    (
        "sequence-2-64",
        "crm-json",
        json.dumps({"message_id": "seq64", "sequence": 2**64, "statuses": [_status()]}).encode(),
    ),
    ("sequence-5000-digits", "crm-json", b'{"message_id": "seqhuge", "sequence": 1' + b"0" * 5000 + b"}"),
    ("sequence-float-inf", "crm-json", b'{"message_id": "seqinf", "sequence": 1e999, "statuses": []}'),
    ("quantity-2-40", "crm-json", _canonical("qty40", quantity=2**40).encode()),
    (
        "scan-seq-2-70",
        "scan-rtm",
        json.dumps(
            {
                "scan_id": "S-seq",
                "seq": 2**70,
                "barcode": "SO-1000001/10",
                "event": "PICKED",
                "time": "2026-11-02T10:00:00Z",
            }
        ).encode(),
    ),  # noqa: E501
    ("year-9999", "crm-json", _canonical("y9999", occurred_at="9999-12-31T23:59:59-05:00").encode()),
    ("year-1", "crm-json", _canonical("y1", occurred_at="0001-01-01T00:00:00+14:00").encode()),
    ("month-13", "crm-json", _canonical("m13", occurred_at="2026-13-45T10:00:00Z").encode()),
    ("eta-year-9999", "crm-json", _canonical("eta9999", eta="9999-12-31T23:59:59-12:00").encode()),
    (
        "scan-year-9999",
        "scan-rtm",
        json.dumps(
            {"scan_id": "S-y", "barcode": "SO-1000001/10", "event": "PICKED", "time": "9999-12-31T23:59:59-11:00"}
        ).encode(),
    ),  # noqa: E501
    (
        "x12-year-9999",
        "odfl",
        X12_COMPLETE_906.replace("20261102*0940", "99991231*2359").replace("906", "907").encode(),
    ),  # noqa: E501
    (
        "x12-year-0000",
        "odfl",
        X12_COMPLETE_906.replace("20261102*0940", "00000101*0000").replace("906", "908").encode(),
    ),  # noqa: E501
    ("sap-year-9999", "sap-ewm", SAP_COMPLETE.replace("20261102", "99991231").encode()),
    ("sap-billion-laughs", "sap-ewm", (FIXTURES / "sap" / "billion_laughs.xml").read_bytes()),
    ("sap-external-entity", "sap-ewm", XML_EXTERNAL_ENTITY.encode()),
    ("sap-deep-xml", "sap-ewm", DEEP_XML.encode()),
    ("sap-huge-lfimg", "sap-ewm", SAP_COMPLETE.replace("<LFIMG>2.000", "<LFIMG>1099511627776.000").encode()),
    ("x12-endless-header", "odfl", BILLION_LAUGHS_X12_STYLE.encode()),
    ("x12-huge-control-number", "odfl", X12_COMPLETE_906.replace("GE*1*906", "GE*1*" + "9" * 40).encode()),
    ("x12-garbage", "odfl", (FIXTURES / "x12" / "garbage.edi").read_bytes()),
    (
        "csv-utf8-encoded-surrogate",
        "depot-lyon",
        b"order,line,status,time,site,clerk\nSO-1000001,10,PICKED,2026-11-02 10:00,\xed\xa0\x80,ana\n",
    ),  # noqa: E501
    ("csv-only-header", "depot-lyon", b"order,line,status,time,site,clerk\n"),
    (
        "csv-huge-field",
        "depot-lyon",
        b"order,line,status,time,site,clerk\n" + b'"' + b"x" * 200_000 + b'",10,PICKED,2026-11-02 10:00,a,b\n',
    ),  # noqa: E501
    *_escaped_everywhere(),
]


def _settle(start) -> None:
    """Run the retry schedule to its end on a fixed clock: every waiting message is taken when it
    is due, until none is waiting (or the schedule would be over)."""
    from django.conf import settings

    clock = start
    for _round in range(settings.INBOUND_MAX_ATTEMPTS + 2):
        waiting = list(InboundMessage.objects.filter(state__in=WAITING))
        if not waiting:
            return
        clock = max([clock, *(m.next_attempt_at for m in waiting if m.next_attempt_at)]) + timedelta(seconds=1)
        for message in waiting:
            inbound_message_process(message_id=message.pk, now=clock)


def _assert_answered_and_settled(response, before: set[int]) -> InboundMessage | None:
    assert response.status_code < 500, response.content[:500]
    new = InboundMessage.objects.exclude(pk__in=before)
    if response.status_code >= 400:
        assert not new.exists(), "a refused body must leave nothing behind"
        assert response.json()["error"]
        return None
    assert response.status_code in (200, 202)
    message = InboundMessage.objects.get(receipt=response.json()["id"])
    _settle(timezone.now())
    message.refresh_from_db()
    assert message.state in END_STATES
    if message.state != MessageState.PROCESSED:
        assert message.last_error.strip(), f"{message.state} without a reason"
    return message


@pytest.mark.parametrize(("name", "source_code", "body"), CASES, ids=[case[0] for case in CASES])
def test_a_hostile_body_is_never_a_5xx_and_every_accepted_one_ends_with_a_reason(
    lines, post_signed, django_capture_on_commit_callbacks, name, source_code, body
):
    # given the sources and their lines; when the body is posted, signed, and the retry schedule runs
    before = set(InboundMessage.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(source_code, body, content_type="application/octet-stream")

    # then the answer is no 5xx, a 2xx has its row, and the message has reached an end state
    _assert_answered_and_settled(response, before)


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("sequence 2^63", json.dumps({"message_id": "s", "sequence": 2**63, "statuses": [_status()]}), "sequence"),
        ("quantity 2^40", _canonical("q", quantity=2**40), "quantity"),
        ("year 9999", _canonical("y", occurred_at="9999-12-31T23:59:59-05:00"), "year 9999"),
        ("deep nesting", _deep_json(5000).decode(), "nested deeper"),
    ],
)
def test_bad_data_is_dead_at_the_first_attempt_as_permanent_with_a_reason(
    lines, post_signed, django_capture_on_commit_callbacks, name, body, reason
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("crm-json", body)

    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert (message.state, message.attempts, message.error_kind) == (MessageState.DEAD, 1, ErrorKind.PERMANENT)
    assert reason in message.last_error
    assert not StatusEvent.objects.filter(inbound_message_id=message.pk).exists()


def test_a_message_id_with_nul_or_a_surrogate_is_stored_with_a_storable_id(lines, post_signed):
    nul = post_signed("crm-json", _with_escape(_canonical("m-@"), NUL))
    surrogate = post_signed("crm-json", _with_escape(_canonical("m-@"), SURROGATE))

    assert (nul.status_code, surrogate.status_code) == (202, 202)
    ids = set(InboundMessage.objects.values_list("message_id", flat=True))
    assert ids == {"m-\ufffd"}  # one id, two bodies: two revisions of it
    assert sorted(InboundMessage.objects.values_list("revision", flat=True)) == [1, 2]


def test_nul_and_surrogates_in_text_fields_are_stored_replaced_and_the_raw_body_kept(
    lines, post_signed, django_capture_on_commit_callbacks
):
    body = _with_escape(_canonical("m-text", text="signed by @", location="gate @"), SURROGATE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("crm-json", body)

    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert message.state == MessageState.PROCESSED
    assert message.raw.encode() == body  # the escapes are plain text in the body
    event = StatusEvent.objects.get(inbound_message_id=message.pk)
    assert event.reason_text == "signed by \ufffd"
    assert message.parsed["statuses"][0]["location"] == "gate \ufffd"


def test_a_body_that_is_not_utf8_keeps_its_exact_bytes(lines, post_signed):
    body = '{"message_id": "caf\u00e9"}'.encode("latin-1") + b"\x00\xff"

    response = post_signed("crm-json", body, content_type="application/octet-stream")

    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert (response.status_code, message.state, message.error_kind) == (202, MessageState.DEAD, ErrorKind.PERMANENT)
    assert bytes(message.raw_bytes) == body
    assert "not UTF-8" in message.last_error


def test_a_utf16_body_is_parked_with_a_reason_that_says_what_to_do(lines, post_signed):
    response = post_signed("crm-json", _canonical("u16").encode("utf-16"))

    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert message.state == MessageState.DEAD
    assert "UTF-16 byte-order mark" in message.last_error


def test_a_truncated_x12_never_blocks_its_complete_resend(lines, post_signed, django_capture_on_commit_callbacks):
    # given a truncated interchange 906 (no IEA), parked dead
    with django_capture_on_commit_callbacks(execute=True):
        truncated = post_signed("odfl", X12_TRUNCATED_906, content_type="application/edi-x12")
    assert truncated.status_code == 202
    assert InboundMessage.objects.get(receipt=truncated.json()["id"]).state == MessageState.DEAD

    # when the complete interchange with the same control number arrives
    with django_capture_on_commit_callbacks(execute=True):
        complete = post_signed("odfl", X12_COMPLETE_906, content_type="application/edi-x12")

    # then it is stored as a message of its own and applied
    assert complete.status_code == 202
    message = InboundMessage.objects.get(receipt=complete.json()["id"])
    assert (message.message_id, message.state) == ("ODFL:000000906", MessageState.PROCESSED)
    assert OrderLine.objects.get(pk=lines["carried"].pk).status == "in_transit"
    # and the same complete copy again is its duplicate
    again = post_signed("odfl", X12_COMPLETE_906, content_type="application/edi-x12")
    assert (again.status_code, again.json()["id"]) == (200, str(message.receipt))


def test_a_truncated_idoc_never_blocks_its_complete_resend(lines, post_signed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        truncated = post_signed("sap-ewm", SAP_TRUNCATED, content_type="application/xml")
        complete = post_signed("sap-ewm", SAP_COMPLETE, content_type="application/xml")

    assert (truncated.status_code, complete.status_code) == (202, 202)
    assert InboundMessage.objects.get(receipt=truncated.json()["id"]).state == MessageState.DEAD
    assert InboundMessage.objects.get(receipt=complete.json()["id"]).state == MessageState.PROCESSED
    assert OrderLine.objects.get(pk=lines["delivered"].pk).status == "shipped"


def test_the_same_id_with_another_body_is_a_new_revision_and_is_applied(
    lines, post_signed, django_capture_on_commit_callbacks
):
    # given message m-7 saying the line was packed
    with django_capture_on_commit_callbacks(execute=True):
        first = post_signed("crm-json", _canonical("m-7", status="packed"))

    # when the source sends m-7 again, corrected: shipped
    with django_capture_on_commit_callbacks(execute=True):
        correction = post_signed("crm-json", _canonical("m-7", status="shipped"))

    # then the correction is stored beside the first as revision 2, and applied
    assert (first.status_code, correction.status_code) == (202, 202)
    revisions = list(InboundMessage.objects.filter(message_id="m-7").order_by("revision"))
    assert [(m.revision, m.state) for m in revisions] == [(1, MessageState.PROCESSED), (2, MessageState.PROCESSED)]
    assert OrderLine.objects.get(pk=lines["plain"].pk).status == "shipped"
    # and either body again is a duplicate of its own revision
    assert post_signed("crm-json", _canonical("m-7", status="packed")).json() == {
        "id": str(revisions[0].receipt),
        "duplicate": True,
    }
    assert post_signed("crm-json", _canonical("m-7", status="shipped")).json() == {
        "id": str(revisions[1].receipt),
        "duplicate": True,
    }


def test_an_x12_test_interchange_never_reaches_a_production_line(
    lines, post_signed, django_capture_on_commit_callbacks
):
    test_data = X12_COMPLETE_906.replace("*0*P*>", "*0*T*>")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("odfl", test_data, content_type="application/edi-x12")

    message = InboundMessage.objects.get(receipt=response.json()["id"])
    assert (message.state, message.is_test) == (MessageState.QUARANTINED, True)
    assert "test data (X12 ISA15 = T)" in message.last_error
    assert OrderLine.objects.get(pk=lines["carried"].pk).status == "received"


def test_an_x12_test_interchange_reaches_a_test_order(lines, post_signed, django_capture_on_commit_callbacks):
    order = lines["carried"].order
    order.is_test = True
    order.save()
    test_data = X12_COMPLETE_906.replace("*0*P*>", "*0*T*>")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed("odfl", test_data, content_type="application/edi-x12")

    assert InboundMessage.objects.get(receipt=response.json()["id"]).state == MessageState.PROCESSED
    assert OrderLine.objects.get(pk=lines["carried"].pk).status == "in_transit"


def test_both_revisions_are_listed_and_linked_in_the_admin(lines, post_signed, admin_client):
    first = InboundMessage.objects.get(
        receipt=post_signed("crm-json", _canonical("m-8", status="packed")).json()["id"]
    ).pk
    second = InboundMessage.objects.get(
        receipt=post_signed("crm-json", _canonical("m-8", status="shipped")).json()["id"]
    ).pk

    listing = admin_client.get("/admin/integrations/inboundmessage/?q=m-8")
    detail = admin_client.get(f"/admin/integrations/inboundmessage/{second}/change/")

    assert listing.status_code == detail.status_code == 200
    assert listing.content.decode().count("m-8") >= 2
    assert f'href="/admin/integrations/inboundmessage/{first}/change/"' in detail.content.decode()
