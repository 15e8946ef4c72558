"""The bulk path decides exactly as the single path: same outcomes, statuses, events, rollups."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order, OrderLine, OutboxEvent, StatusEvent
from orders.services import Actor, LineIsSplit, Provenance, SplitPart, apply_status_update, split_line
from orders.services.audit import audit_chain_verify
from orders.services.bulk import StatusFact, status_facts_apply
from orders.status import LineStatus
from tests.conftest import T0
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

SOURCES = ("SAP-ERP", "EWM-RTM", "CARRIER-DHL")
RECEIVED_AT = T0 + timedelta(hours=12)  # after every fact below: none is from the future
FACTS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which line
        st.sampled_from([s for s in LineStatus.values if s != LineStatus.RECEIVED]),
        st.integers(min_value=-120, max_value=600),  # minutes after t0
        st.sampled_from(SOURCES),
    ),
    min_size=1,
    max_size=25,
)


def _order_with_three_lines() -> list[OrderLine]:
    order = OrderFactory()
    return [OrderLineFactory(order=order, number=str(10 * (i + 1)), quantity=i + 1) for i in range(3)]


def _fact(line: OrderLine, status: str, minutes: int, source: str) -> StatusFact:
    return StatusFact(
        line_id=line.pk,
        status=status,
        occurred_at=T0 + timedelta(minutes=minutes),
        actor=Actor.integration(source),
        provenance=Provenance(source_system=source),
        received_at=RECEIVED_AT,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=FACTS)
def test_bulk_and_one_by_one_end_in_the_same_place(facts):
    # given two identical orders
    one_by_one, in_bulk = _order_with_three_lines(), _order_with_three_lines()

    # when the same facts are applied one by one to the first and in one batch to the second
    single = [
        apply_status_update(
            line_id=one_by_one[i].pk,
            status=status,
            occurred_at=T0 + timedelta(minutes=minutes),
            actor=Actor.integration(source),
            provenance=Provenance(source_system=source),
            received_at=RECEIVED_AT,
        ).outcome
        for i, status, minutes, source in facts
    ]
    bulk = [r.outcome for r in status_facts_apply(facts=[_fact(in_bulk[i], s, m, src) for i, s, m, src in facts])]

    # then every outcome, line status, event row and rollup is the same
    assert bulk == single
    for a, b in zip(one_by_one, in_bulk, strict=True):
        a.refresh_from_db()
        b.refresh_from_db()
        assert (a.status, a.status_before_interruption, a.audit_sequence) == (
            b.status,
            b.status_before_interruption,
            b.audit_sequence,
        )
        assert list(a.events.values_list("to_status", "outcome")) == list(b.events.values_list("to_status", "outcome"))
        # history keeps the line as each write left it: one row per batch in bulk
        assert a.history.first().status == b.history.first().status
    order_a = Order.objects.get(pk=one_by_one[0].order_id)
    order_b = Order.objects.get(pk=in_bulk[0].order_id)
    assert (order_a.status, order_a.progress_percent) == (order_b.status, order_b.progress_percent)
    assert audit_chain_verify(line_ids=[line.pk for line in in_bulk]) == []


def test_a_fact_twice_in_one_batch_is_recorded_once(line):
    fact = _fact(line, "picking", 5, "EWM-RTM")

    outcomes = [result.outcome for result in status_facts_apply(facts=[fact, fact])]

    assert outcomes == ["applied", "duplicate"]
    assert StatusEvent.objects.filter(line=line, to_status="picking").count() == 1


def test_changes_are_published_in_bulk_with_one_outbox_row_each(line, django_capture_on_commit_callbacks):
    other = OrderLineFactory(order=line.order, number="20")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        status_facts_apply(facts=[_fact(line, "picking", 1, "EWM-RTM"), _fact(other, "packed", 2, "EWM-RTM")])

    rows = OutboxEvent.objects.filter(topic="line.status_changed").order_by("id")
    assert [row.payload["to_status"] for row in rows] == ["picking", "packed"]
    assert all(row.dispatched_at is not None for row in rows)
    assert len(callbacks) == 1


def test_a_split_parent_is_refused_before_anything_is_written(line):
    child, _rest = split_line(line_id=line.pk, parts=[SplitPart(quantity=4)], actor=Actor.system("test"))
    events = StatusEvent.objects.count()

    with pytest.raises(LineIsSplit):
        status_facts_apply(facts=[_fact(child, "picking", 1, "EWM-RTM"), _fact(line, "picking", 1, "EWM-RTM")])

    assert StatusEvent.objects.count() == events


def test_children_of_a_split_take_facts_in_bulk_and_roll_up_their_parent(line):
    # given a line split into two children
    child, rest = split_line(line_id=line.pk, parts=[SplitPart(quantity=4)], actor=Actor.system("test"))

    # when both children are picked in one batch
    status_facts_apply(facts=[_fact(child, "picking", 1, "EWM-RTM"), _fact(rest, "picking", 2, "EWM-RTM")])

    # then the parent shows their rolled-up status and the audit chains hold
    line.refresh_from_db()
    assert line.status == "picking"
    assert audit_chain_verify(line_ids=[line.pk, child.pk, rest.pk]) == []


def test_a_fact_from_the_future_refuses_the_batch_before_anything_is_written(line):
    events = StatusEvent.objects.count()

    with pytest.raises(ValidationError) as raised:
        status_facts_apply(facts=[_fact(line, "picking", 13 * 60, "EWM-RTM")])

    assert "occurred_at" in raised.value.message_dict
    assert StatusEvent.objects.count() == events
