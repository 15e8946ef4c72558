"""GET /health/: the state of database, cache, broker and migrations as JSON (200 or 503),
plus warnings that keep the answer 200: source systems that have gone quiet, and outbox
deliveries that are dead or overdue (counted). A dead delivery is one change a handler never
got: a person must look, but the service is up and taking changes, so it is a warning; a load
balancer that took the node out for it would only make things worse."""

from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from integrations.selectors import source_freshness
from orders.selectors import outbox_backlog


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _cache() -> str:
    cache.set("health-check", "ok", timeout=10)
    if cache.get("health-check") != "ok":
        raise RuntimeError("value written to the cache could not be read back")
    return "ok"


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager (tasks run in-process)"
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _migrations() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied")
    return "ok"


class HealthWarning(Exception):
    """Worth a look, but the service itself is up: reported without turning the answer into a 503."""

    def __init__(self, detail: str, extra: dict | None = None) -> None:
        super().__init__(detail)
        self.extra = extra or {}


def _sources() -> str:
    overdue = [source.code for source in source_freshness() if source.overdue]
    if overdue:
        raise HealthWarning(f"no recent messages from: {', '.join(overdue)}")
    return "ok"


def _outbox() -> dict:
    backlog = outbox_backlog()
    counts = {"dead": backlog.dead, "overdue": backlog.overdue}
    if backlog.dead or backlog.overdue:
        raise HealthWarning(
            f"{backlog.dead} dead and {backlog.overdue} overdue outbox deliveries (admin: outbox deliveries)", counts
        )
    return {"detail": "ok", **counts}


CHECKS: dict[str, Callable[[], str | dict]] = {
    "database": _database,
    "cache": _cache,
    "broker": _broker,
    "migrations": _migrations,
    "sources": _sources,
    "outbox": _outbox,
}


@never_cache
@require_safe
def health(request):
    results = {}
    healthy = True
    for name, check in CHECKS.items():
        try:
            found = check()
            results[name] = {"status": "ok", **(found if isinstance(found, dict) else {"detail": found})}
        except HealthWarning as warning:
            results[name] = {"status": "warning", "detail": str(warning), **warning.extra}
        except Exception as error:  # noqa: BLE001  (any failure is reported, not raised)
            healthy = False
            results[name] = {"status": "error", "detail": f"{type(error).__name__}: {error}"}
    return JsonResponse({"status": "ok" if healthy else "error", "checks": results}, status=200 if healthy else 503)
