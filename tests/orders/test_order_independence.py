"""The contract of the core, stated from the user's side: the same facts about a line end in the
same status, status time and path status whatever order they arrive in, one by one, in batches
or mixed. Ties of equal source time break by the source's sequence number, then by a stable
identity of the fact — never by arrival."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import StatusEvent
from orders.services import Actor, Provenance, apply_status_update
from orders.services.audit import audit_chain_verify
from orders.services.bulk import StatusFact, status_facts_apply
from tests.conftest import T0
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

RECEIVED_AT = T0 + timedelta(days=1)
STATUSES = [
    "released",
    "awaiting_part",
    "allocated",
    "picking",
    "packed",
    "shipped",
    "in_transit",
    "delivered",
    "on_hold",
    "exception",
    "cancelled",
    "returned",
]
SOURCES = ("sap-erp", "ewm", "dhl")
# Few distinct minutes, so that equal source times are common.
FACT = st.tuples(
    st.sampled_from(STATUSES),
    st.integers(min_value=0, max_value=6),
    st.sampled_from(SOURCES),
    st.one_of(st.none(), st.integers(min_value=0, max_value=3)),
)


@st.composite
def facts_and_arrival(draw):
    # Distinct facts (a source's sequence number belongs to its fact: a copy carries the same)
    facts = draw(st.lists(FACT, min_size=1, max_size=10, unique_by=lambda fact: fact[:3]))
    # some facts are sent twice
    repeats = draw(st.lists(st.sampled_from(range(len(facts))), max_size=3))
    sent = facts + [facts[index] for index in repeats]
    arrival = draw(st.permutations(sent))
    mode = draw(st.sampled_from(["one by one", "in batches", "mixed"]))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=max(1, len(arrival) - 1)), max_size=3)))
    return facts, list(arrival), mode, cuts


def _status_fact(line, fact) -> StatusFact:
    status, minute, source, sequence = fact
    return StatusFact(
        line_id=line.pk,
        status=status,
        occurred_at=T0 + timedelta(minutes=minute),
        actor=Actor.integration(source),
        provenance=Provenance(source_system=source),
        received_at=RECEIVED_AT,
        sequence=sequence,
    )


def _one(line, fact):
    status, minute, source, sequence = fact
    return apply_status_update(
        line_id=line.pk,
        status=status,
        occurred_at=T0 + timedelta(minutes=minute),
        actor=Actor.integration(source),
        provenance=Provenance(source_system=source),
        received_at=RECEIVED_AT,
        sequence=sequence,
    )


def _deliver(line, arrival, mode, cuts):
    if mode == "one by one":
        for fact in arrival:
            _one(line, fact)
        return
    bounds = [0, *cuts, len(arrival)]
    for index, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        chunk = arrival[start:end]
        if mode == "mixed" and index % 2:
            for fact in chunk:
                _one(line, fact)
        elif chunk:
            status_facts_apply(facts=[_status_fact(line, fact) for fact in chunk])


def _seen(line):
    line.refresh_from_db()
    return (
        line.status,
        line.status_before_interruption,
        line.status_occurred_at,
        line.path_occurred_at,
        line.held_status,
    )


@pytest.fixture
def warehouse_clock_off_by_two_minutes(db):
    """The warehouse system's clock may be off by two minutes (a step back it reports must be
    clearer than that to undo a step forward)."""
    from integrations.models import MessageFormat, SourceKind, SourceSystem

    SourceSystem.objects.get_or_create(
        code="ewm",
        defaults={
            "name": "EWM",
            "kind": SourceKind.WMS,
            "message_format": MessageFormat.CANONICAL_JSON,
            "clock_tolerance": timedelta(minutes=2),
        },
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=facts_and_arrival())
def test_the_same_facts_end_in_the_same_status_in_any_arrival_order(warehouse_clock_off_by_two_minutes, case):
    facts, arrival, mode, cuts = case
    # given two fresh lines
    in_order, shuffled = OrderLineFactory(), OrderLineFactory()

    # when one hears the facts in the order they were drawn, one by one, and the other hears them
    # (some twice) in another order, one by one, in batches or mixed
    for fact in facts:
        _one(in_order, fact)
    _deliver(shuffled, arrival, mode, cuts)

    # then both show the same status, status time and path status
    assert _seen(shuffled) == _seen(in_order)
    # and every distinct fact is recorded exactly once on each, in an intact audit chain
    distinct = len(set(facts))
    for line in (in_order, shuffled):
        recorded = StatusEvent.objects.filter(line=line, kind__in=["fact"]).count()
        assert recorded == distinct
    assert audit_chain_verify(line_ids=[in_order.pk, shuffled.pk]) == []


def test_equal_times_break_by_the_source_sequence_not_by_arrival(t0):
    # given a hold and an exception the ERP dated the same second, with its own sequence numbers
    first, second = OrderLineFactory(), OrderLineFactory()
    hold = ("on_hold", 0, "sap-erp", 7)
    exception = ("exception", 0, "sap-erp", 8)

    # when they arrive in opposite orders
    _one(first, hold)
    _one(first, exception)
    _one(second, exception)
    _one(second, hold)

    # then the higher sequence decides on both: the exception came last
    assert _seen(first)[0] == _seen(second)[0] == "exception"
