"""The outbox rows stored before delivery rows keep what they had: handlers that had a row are
delivered, the rest wait (or are dead when the row had used up its attempts)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders.publication import handlers_for

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0008_outbox_deliveries")]
AFTER = [("orders", "0010_outbox_event_without_lists")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_afterwards():
    """Later tests need every migration applied again (other apps' too)."""
    yield
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


def test_existing_rows_get_their_deliveries(settings):
    # given rows of the old shape: delivered to both handlers, to one of them, and given up
    settings.OUTBOX_MAX_ATTEMPTS = 3
    apps = _migrate(BEFORE)
    try:
        OutboxEvent = apps.get_model("orders", "OutboxEvent")
        done = OutboxEvent.objects.create(
            topic="line.status_changed",
            payload={},
            delivered_to=["orders.live"],
            attempts=1,
            dispatched_at="2026-11-02T10:00:00Z",
        )
        halfway = OutboxEvent.objects.create(
            topic="line.override_contested",
            payload={},
            delivered_to=[],
            attempts=1,
            last_error="overrides.contested: boom",
        )
        given_up = OutboxEvent.objects.create(
            topic="line.status_changed", payload={}, delivered_to=[], attempts=3, last_error="orders.live: down"
        )
    finally:
        # when the migrations run
        apps = _migrate(AFTER)

    # then each handler's state is a row
    OutboxDelivery = apps.get_model("orders", "OutboxDelivery")
    states = {(d.event_id, d.handler): (d.state, d.attempts) for d in OutboxDelivery.objects.all()}
    # (every handler registered today for a topic gets its row: other apps' too)
    changed_handlers = {registration.name for registration in handlers_for("line.status_changed")}
    contested_handlers = {registration.name for registration in handlers_for("line.override_contested")}
    assert {"orders.live", "overrides.contested"} <= changed_handlers | contested_handlers
    assert {key: state for key, state in states.items() if key[0] == done.pk} == {
        (done.pk, "orders.live"): ("delivered", 1)
    }
    assert {key: state for key, state in states.items() if key[0] == halfway.pk} == {
        (halfway.pk, name): ("pending", 1) for name in contested_handlers
    }
    assert {key: state for key, state in states.items() if key[0] == given_up.pk} == {
        (given_up.pk, name): ("dead", 3) for name in changed_handlers
    }
    assert OutboxDelivery.objects.get(event_id=given_up.pk, handler="orders.live").last_error == "orders.live: down"
