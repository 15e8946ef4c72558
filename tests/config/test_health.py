"""/health/ reports database, cache, broker and migrations, and answers 503 when one fails."""

import pytest

from config import health

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_everything_answers(client):
    response = client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "migrations", "sources"}
    assert all(check["status"] == "ok" for check in body["checks"].values())


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
