"""The truth engine with messages as the sources send them (canonical JSON from the ERP and the
warehouse): the source's clock decides, whatever the queue delay or the arrival order; a fact
dated days ahead is quarantined; a batch applies messages in their order."""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from integrations.models import InboundMessage, MessageFormat, MessageState, SourceKind, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_batch_process, inbound_message_process
from orders.models import OrderLine, OutboxEvent, StatusEvent
from tests.factories import RegionFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "canonical" / "truth"
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    """A wall-clock time in Berlin on 3 November 2026."""
    return datetime.fromisoformat(f"2026-11-03T{text}").replace(tzinfo=BERLIN)


@pytest.fixture
def erp(make_source):
    RegionFactory(code="emea")
    return make_source("sap-erp", MessageFormat.CANONICAL_JSON, kind=SourceKind.ERP, time_zone="Europe/Berlin")


@pytest.fixture
def ewm(make_source):
    return make_source("sap-ewm", MessageFormat.CANONICAL_JSON, kind=SourceKind.WMS, time_zone="Europe/Berlin")


def _receive(source, name: str, *, received_at: datetime) -> InboundMessage:
    """The message as it reached our webhook at `received_at` (our clock)."""
    message, _created = inbound_message_receive(
        source=source, raw=(FIXTURES / name).read_text(), transport=Transport.WEBHOOK
    )
    InboundMessage.objects.filter(pk=message.pk).update(received_at=received_at)
    return message


def _process(source, name: str, *, received_at: datetime) -> InboundMessage:
    message = _receive(source, name, received_at=received_at)
    inbound_message_process(message_id=message.pk)
    message.refresh_from_db()
    return message


def _line() -> OrderLine:
    return OrderLine.objects.get(order__number="SO-3004211", number="10")


def test_a_hold_that_comes_with_its_order_after_a_queue_delay_applies_on_the_source_clock(erp):
    # given the ERP's message creating the order at 08:02 with a credit hold at 08:03:30,
    # stuck in a queue until 09:00
    message = _process(erp, "order_with_its_first_hold.json", received_at=at("09:00:00"))

    # then the hold applies: the line started at the order's creation, not at our receipt
    assert message.state == MessageState.PROCESSED
    line = _line()
    assert line.status == "on_hold"
    assert line.status_occurred_at == at("08:03:30")
    assert line.start_occurred_at == at("08:02:00")
    hold = StatusEvent.objects.get(line=line, to_status="on_hold")
    assert (hold.outcome, hold.received_at) == ("applied", at("09:00:00"))


ARRIVALS = {
    "in source order": ["erp_released.json", "ewm_allocated.json", "ewm_picking.json", "ewm_short_pick.json"],
    "pick confirmation last": ["erp_released.json", "ewm_allocated.json", "ewm_short_pick.json", "ewm_picking.json"],
    "backwards": ["ewm_short_pick.json", "ewm_picking.json", "ewm_allocated.json", "erp_released.json"],
}


@pytest.mark.parametrize("arrival", ARRIVALS, ids=list(ARRIVALS))
def test_a_late_pick_confirmation_never_undoes_the_short_pick_after_it(erp, ewm, arrival):
    # given an order on credit hold
    _process(erp, "order_with_its_first_hold.json", received_at=at("09:00:00"))

    # when the release (09:30), the allocation (10:00), picking (10:02) and the short pick that
    # backordered the line (10:05) arrive in any order
    sources = {"erp": erp, "ewm": ewm}
    for minute, name in enumerate(ARRIVALS[arrival]):
        message = _process(sources[name[:3]], name, received_at=at("10:30:00") + timedelta(minutes=minute))
        assert message.state == MessageState.PROCESSED, message.last_error

    # then the line waits for the part, since the short pick at 10:05
    line = _line()
    assert (line.status, line.status_occurred_at) == ("awaiting_part", at("10:05:00"))
    assert line.status_before_interruption == ""


def test_a_fact_dated_days_ahead_is_quarantined_and_a_correct_one_still_applies(erp, ewm):
    # given a line released and allocated
    _process(erp, "order_with_its_first_hold.json", received_at=at("09:00:00"))
    _process(erp, "erp_released.json", received_at=at("09:31:00"))
    _process(ewm, "ewm_allocated.json", received_at=at("10:01:00"))

    # when the warehouse reports "packed" dated 6 November (its clock is wrong), at 10:25 on the 3rd
    wrong = _process(ewm, "dated_three_days_ahead.json", received_at=at("10:25:00"))

    # then the message waits for a person, saying which time and which zone, and nothing moved
    assert wrong.state == MessageState.QUARANTINED
    assert "2026-11-06T10:20:00+01:00" in wrong.last_error
    assert "Europe/Berlin" in wrong.last_error
    assert _line().status == "allocated"

    # and a later packed confirmation with a correct time still applies
    right = _process(ewm, "packed_on_time.json", received_at=at("10:26:00"))
    assert right.state == MessageState.PROCESSED
    assert (_line().status, _line().status_occurred_at) == ("packed", at("10:20:00"))


def test_a_batch_applies_messages_in_their_order_and_each_change_is_published_as_it_left_the_order(erp, ewm):
    # given an order released from its hold
    _process(erp, "order_with_its_first_hold.json", received_at=at("09:00:00"))
    _process(erp, "erp_released.json", received_at=at("09:31:00"))
    already = set(OutboxEvent.objects.values_list("pk", flat=True))

    # when a worker takes, in one batch, the allocation, a re-sent order (not a plain status
    # message), the pick confirmation and the short pick
    for minute, (source, name) in enumerate(
        [
            (ewm, "ewm_allocated.json"),
            (erp, "order_with_its_first_hold.json"),
            (ewm, "ewm_picking.json"),
            (ewm, "ewm_short_pick.json"),
        ]
    ):
        _receive(source, name, received_at=at("10:30:00") + timedelta(minutes=minute))
    InboundMessage.objects.filter(message_id="ERP-2026-11-03-004211", state=MessageState.PROCESSED).update(
        state=MessageState.RECEIVED
    )  # the ERP re-sent it: a worker takes it again with the others
    processed = inbound_batch_process(limit=10)

    # then every message is processed, and the changes are published in message order, each with
    # the order's own sequence number and the order as that change left it
    assert {message.state for message in processed} == {MessageState.PROCESSED}
    rows = list(OutboxEvent.objects.exclude(pk__in=already).filter(topic="line.status_changed").order_by("pk"))
    assert [(row.payload["to_status"], row.payload["order_status"]) for row in rows] == [
        ("allocated", "allocated"),
        ("picking", "picking"),
        ("awaiting_part", "awaiting_part"),
    ]
    sequences = [row.payload["sequence"] for row in rows]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert [row.order_sequence for row in rows] == sequences


def test_a_delivery_item_matches_with_or_without_sap_s_leading_zeros(erp, make_source):
    # given an order whose line the ERP knows by delivery item 80012345/10 (no leading zeros)
    from integrations.models import StatusMapping
    from orders.models import LineReference

    _process(erp, "order_with_its_first_hold.json", received_at=at("09:00:00"))
    line = _line()
    LineReference.objects.create(line=line, kind="sap_delivery_item", value="80012345/10", issuer="sap-erp")
    ewm = make_source("sap-ewm-idoc", MessageFormat.SAP_IDOC_XML, kind=SourceKind.WMS, time_zone="Europe/Berlin")
    StatusMapping.objects.create(source=ewm, external_code="PIC", status="picking")
    idoc = (
        "<DELVRY03><IDOC BEGIN='1'><EDI_DC40 SEGMENT='1'><DOCNUM>0000000000991234</DOCNUM>"
        "<IDOCTYP>DELVRY03</IDOCTYP><MESTYP>WHSCON</MESTYP><CREDAT>20261103</CREDAT><CRETIM>101500</CRETIM>"
        "</EDI_DC40><E1EDL20 SEGMENT='1'><VBELN>0080012345</VBELN><E1EDL18 SEGMENT='1'><QUALF>PIC</QUALF></E1EDL18>"
        "<E1EDT13 SEGMENT='1'><QUALF>010</QUALF><ISDD>20261103</ISDD><ISDZ>101000</ISDZ></E1EDT13>"
        "<E1EDL24 SEGMENT='1'><POSNR>000010</POSNR><MATNR>PS-2210</MATNR><LFIMG>2</LFIMG></E1EDL24>"
        "</E1EDL20></IDOC></DELVRY03>"
    )

    # when the warehouse confirms picking on 0080012345/000010, as the IDoc writes it
    message, _created = inbound_message_receive(source=ewm, raw=idoc, transport=Transport.WEBHOOK)
    inbound_message_process(message_id=message.pk)
    message.refresh_from_db()

    # then it is the same item: the line is being picked (its hold lifted by the newer fact)
    assert message.state == MessageState.PROCESSED, message.last_error
    assert _line().status == "picking"
