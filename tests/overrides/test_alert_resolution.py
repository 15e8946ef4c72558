"""A stale alert resolves in the same transaction as the status change that ends it, on the
single path, the batch path, an override and a split: not at the next scan."""

from datetime import timedelta

import pytest
from django.db import transaction

from orders.services import Actor, Provenance, SplitPart, apply_status_update, line_status_override, split_line
from orders.services.bulk import StatusFact, status_facts_apply
from overrides.models import StaleAlert, StaleStatusRule
from overrides.services.alerts import stale_alerts_scan
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class RolledBack(Exception):
    pass


@pytest.fixture
def stale_line(line, advance, t0):
    """A line allocated at t0 + 1 min, long past the rule's two hours: the scan opened an alert."""
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    advance(line, "allocated")
    assert stale_alerts_scan().opened == 1
    return line


def _alert(line) -> StaleAlert:
    return StaleAlert.objects.get(line=line)


def _picking_fact(line, t0) -> dict:
    return {
        "line_id": line.pk,
        "status": "picking",
        "occurred_at": t0 + timedelta(hours=5),
        "actor": Actor.integration("EWM-RTM"),
        "provenance": Provenance(source_system="EWM-RTM"),
    }


def test_the_single_path_resolves_the_alert_in_the_changes_transaction(stale_line, t0):
    # when the warehouse reports picking, inside a transaction that has not committed yet
    with transaction.atomic():
        apply_status_update(**_picking_fact(stale_line, t0))
        # then the alert is already resolved within it
        resolved_inside = _alert(stale_line).resolved_at

    stale_line.refresh_from_db()
    assert resolved_inside == stale_line.status_changed_at
    assert _alert(stale_line).resolved_at == resolved_inside


def test_the_alert_stays_open_when_the_change_rolls_back(stale_line, t0):
    # when the change is rolled back after it was written
    with pytest.raises(RolledBack), transaction.atomic():
        apply_status_update(**_picking_fact(stale_line, t0))
        raise RolledBack

    # then the alert is open still: it resolves with the change or not at all
    assert _alert(stale_line).resolved_at is None


def test_the_batch_path_resolves_the_alert_in_the_batchs_transaction(stale_line, t0):
    # when the fact comes in a batch
    with transaction.atomic():
        [result] = status_facts_apply(facts=[StatusFact(**_picking_fact(stale_line, t0))])
        resolved_inside = _alert(stale_line).resolved_at

    # then the batch resolved the alert before its commit
    assert result.changed
    assert resolved_inside is not None


def test_a_confirmation_of_the_same_status_leaves_the_alert_open(stale_line, t0):
    # when a source repeats the status the line is stuck in
    apply_status_update(**{**_picking_fact(stale_line, t0), "status": "allocated"})

    # then nothing ended the stay: the alert is still open
    assert _alert(stale_line).resolved_at is None


def test_an_override_resolves_the_alert(stale_line, supervisor):
    # when a person moves the line on by hand
    line_status_override(
        line_id=stale_line.pk,
        status="picking",
        actor=Actor.person(supervisor),
        reason_code="data_correction",
        reason_text="Picked yesterday; EWM was down.",
    )

    # then the alert resolved when the override was written
    stale_line.refresh_from_db()
    assert _alert(stale_line).resolved_at == stale_line.status_changed_at


def test_splitting_the_line_resolves_its_alert(stale_line):
    # when the stuck line is split (its children carry the status from now on)
    split_line(line_id=stale_line.pk, parts=[SplitPart(quantity=4)], actor=Actor.person(UserFactory()))

    # then the parent's alert is resolved; the children are new stays the scan judges on their own
    stale_line.refresh_from_db()
    assert _alert(stale_line).resolved_at == stale_line.updated_at
