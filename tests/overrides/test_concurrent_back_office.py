"""Back-office writes racing a source on real PostgreSQL row locks: a source's change committed
while an override is asked for, or while the stale scan opens an alert, is seen by the writer that
comes second (the core's lock order), never judged on a line as it was before."""

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from guardian.shortcuts import assign_perm

from orders.services import apply_status_update
from overrides.models import OverrideRequest, StaleAlert, StaleStatusRule
from overrides.services.alerts import stale_alerts_scan
from overrides.services.requests import override_request_create
from tests.factories import OrderLineFactory, PartFactory, RegionFactory, UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]


def _while_uncommitted(source_change: Callable[[], object], writer: Callable[[], object]) -> object:
    """Run `source_change` in an open transaction of its own; meanwhile run `writer` in another
    connection until it ends or waits for a lock; then commit the source's change and let the
    writer finish. Returns what the writer returned."""
    written, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def source() -> None:
        try:
            with transaction.atomic():
                source_change()
                written.set()
                release.wait(timeout=20)
        except Exception as error:  # noqa: BLE001  (handed back to the test to fail on)
            results["source"] = error
            written.set()
        finally:
            connection.close()

    def other_writer() -> None:
        try:
            results["writer"] = writer()
        except Exception as error:  # noqa: BLE001
            results["writer"] = error
        finally:
            connection.close()

    source_thread = threading.Thread(target=source)
    source_thread.start()
    assert written.wait(timeout=20)
    writer_thread = threading.Thread(target=other_writer)
    writer_thread.start()
    deadline = time.monotonic() + 20
    while writer_thread.is_alive() and not _someone_waits_for_a_lock() and time.monotonic() < deadline:
        time.sleep(0.05)
    release.set()
    source_thread.join(timeout=30)
    writer_thread.join(timeout=30)
    assert not source_thread.is_alive() and not writer_thread.is_alive(), "a writer is stuck"
    for result in results.values():
        if isinstance(result, Exception):
            raise result
    return results.get("writer")


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_source_shipping_the_line_while_a_planner_asks_for_picking_makes_it_wait_for_approval(advance, sap, t0):
    # given an allocated B part in EMEA and a planner of EMEA (picking from allocated is forward:
    # applied at once when the line is as she saw it)
    emea = RegionFactory(code="emea")
    planner = UserFactory(username="planner-emea")
    planner.groups.add(Group.objects.get(name="planner"))
    assign_perm("orders.work_in_region", planner, emea)
    line = OrderLineFactory(order__account__region=emea, part=PartFactory(criticality="B"))
    advance(line, "allocated")

    # when the warehouse's "shipped" is being committed while she asks for "picking"
    request = _while_uncommitted(
        lambda: apply_status_update(line_id=line.pk, status="shipped", occurred_at=t0 + timedelta(hours=3), actor=sap),
        lambda: override_request_create(
            user=planner,
            line_ids=[line.pk],
            target_status="picking",
            reason_code="data_correction",
            justification="The goods issue was posted on the wrong delivery.",
        ),
    )

    # then her request is judged on the shipped line: backwards, so it waits for a second person
    line.refresh_from_db()
    request = OverrideRequest.objects.get(pk=request.pk)
    assert line.status == "shipped"
    assert request.state == OverrideRequest.State.PENDING
    assert request.from_statuses == {str(line.pk): "shipped"}
    assert "backwards" in [reason["code"] for reason in request.approval_reasons]


def test_a_line_moving_on_while_the_scan_opens_its_alert_leaves_no_open_alert(advance, sap, t0):
    # given a line allocated for hours past the rule's two hours
    StaleStatusRule.objects.create(status="allocated", threshold=timedelta(hours=2))
    line = OrderLineFactory()
    advance(line, "allocated")

    # when the warehouse's "picking" is being committed while the scan opens alerts
    _while_uncommitted(
        lambda: apply_status_update(line_id=line.pk, status="picking", occurred_at=t0 + timedelta(hours=5), actor=sap),
        stale_alerts_scan,
    )

    # then no alert stays open on a line that is picking
    line.refresh_from_db()
    assert line.status == "picking"
    assert not StaleAlert.objects.filter(line=line, resolved_at__isnull=True).exists()
