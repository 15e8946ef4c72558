"""/health/ reports database, cache, broker and migrations, and answers 503 when one fails."""

from datetime import timedelta

import pytest

from config import health
from orders.publication import Topic, handlers_for, register_handler, unregister_handler
from orders.services import apply_status_update

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_everything_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "migrations", "sources", "outbox"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


def test_an_uptime_monitors_head_request_gets_the_state_without_a_body(client):
    response = client.head("/health/")

    assert response.status_code == 200 and response.content == b""


def test_health_is_503_naming_the_broken_part(client, settings):
    # given a broker nobody listens on (a real connection attempt, refused)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/health/")
    finally:
        app.conf.broker_url = original

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


def test_health_reports_unapplied_migrations(client, monkeypatch):
    class PendingPlan:
        def __init__(self, connection):
            self.loader = type("Loader", (), {"graph": type("Graph", (), {"leaf_nodes": lambda self: []})()})()

        def migration_plan(self, targets):
            return [("orders", "9999_future")]

    monkeypatch.setattr(health, "MigrationExecutor", PendingPlan)

    response = client.get("/health/")

    assert response.status_code == 503
    assert "1 migration(s) not applied" in response.json()["checks"]["migrations"]["detail"]


def test_quiet_source_is_a_warning_that_keeps_the_service_up(client):
    from datetime import timedelta

    from integrations.models import SourceSystem

    SourceSystem.objects.create(
        code="carrier-dhl", name="DHL", kind="carrier", message_format="x12_214", expected_interval=timedelta(hours=2)
    )

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["sources"] == {
        "status": "warning",
        "detail": "no recent messages from: carrier-dhl",
    }


def test_dead_and_overdue_outbox_deliveries_are_counted_as_a_warning(
    client, line, sap, t0, settings, django_capture_on_commit_callbacks
):
    # given a handler whose gateway is down, one attempt allowed, and a change it failed on
    settings.OUTBOX_MAX_ATTEMPTS = 1

    def down(event):
        raise ConnectionError("gateway down")

    register_handler(name="tests.down", topics=[Topic.LINE_STATUS_CHANGED], handler=down)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            apply_status_update(line_id=line.pk, status="picking", occurred_at=t0, actor=sap)
        # and another change no worker took for longer than the overdue limit
        apply_status_update(line_id=line.pk, status="packed", occurred_at=t0 + timedelta(hours=1), actor=sap)
        settings.OUTBOX_OVERDUE_SECONDS = 0

        waiting = len(handlers_for(Topic.LINE_STATUS_CHANGED))  # one delivery each, none made

        # when /health/ is asked
        response = client.get("/health/")
    finally:
        unregister_handler("tests.down")

    # then the service is up, and the outbox check counts what a person must look at
    assert response.status_code == 200
    outbox = response.json()["checks"]["outbox"]
    assert (outbox["status"], outbox["dead"], outbox["overdue"]) == ("warning", 1, waiting)
    assert f"1 dead and {waiting} overdue" in outbox["detail"]
