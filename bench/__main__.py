"""Run the benchmark: `python -m bench --help` (see the package docstring)."""

import argparse
import math
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import django
import redis

from bench import database, processes

BUDGET_SECONDS = 240  # no new trial starts after this: the whole run stays under 5 minutes
TRIAL_TIMEOUT = 150
SWEEP_EVERY = 5.0


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000, help="messages POSTed to the webhook (default 5000)")
    parser.add_argument(
        "--batch-sizes",
        default="50,1,10,200",
        help="INBOUND_BATCH_SIZE values to try: the first works off the webhook's backlog (default 50,1,10,200)",
    )
    parser.add_argument(
        "--trial-messages", type=int, default=1_000, help="backlog of each further batch size (default 1000)"
    )
    parser.add_argument("--workers", type=int, default=1, help="celery workers, concurrency 2 each (default 1)")
    parser.add_argument("--web-server", choices=sorted(processes.WEB_SERVERS), default="uvicorn-asgi")
    parser.add_argument("--web-processes", type=int, default=2, help="web server processes (default 2)")
    parser.add_argument("--client-threads", type=int, default=8, help="concurrent HTTP clients (default 8)")
    parser.add_argument(
        "--scenario",
        default="pipeline,walk,notifications,portal",
        help="comma-separated: pipeline (webhook, workers, raw ceiling), walk (orders walked through "
        "apply_status_update in 1 and 2 processes), notifications (critical SMS latency, sends per second), "
        "portal (pages and live pushes); default all",
    )
    parser.add_argument("--walk-orders", type=int, default=200, help="orders of 3 lines walked (default 200)")
    parser.add_argument(
        "--walk-measure-orders", type=int, default=20, help="orders walked in the SQL-counting pass (default 20)"
    )
    parser.add_argument("--notification-triggers", type=int, default=50, help="critical SMS timed (default 50)")
    parser.add_argument("--notification-sends", type=int, default=500, help="notifications sent by one worker (500)")
    parser.add_argument(
        "--portal-sockets", type=int, default=1_000, help="portal websockets on one order (default 1000)"
    )
    parser.add_argument("--portal-changes", type=int, default=10, help="status changes pushed to them (default 10)")
    parser.add_argument("--portal-requests", type=int, default=800, help="requests per portal page (default 800)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    options = arguments(argv)
    # A SIGTERM unwinds like Ctrl-C, so that the workers and the server are stopped too.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    started = time.monotonic()
    database_url, redis_url = database.urls()
    run = datetime.now(UTC).strftime("%m%d%H%M%S") + secrets.token_hex(2)
    queue = f"bench-{run}"
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        # Measured as in production: DEBUG off (no query log), persistent connections in workers.
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        # The benchmark never verifies old runs' chains: a fresh key per run is enough.
        AUDIT_CHAIN_KEY=secrets.token_hex(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PUBLIC_BASE_URL="http://127.0.0.1:8000",
        SECURE_SSL_REDIRECT="0",
        CONN_MAX_AGE="60",
        DJANGO_SETTINGS_MODULE="config.settings",
        CELERY_TASK_DEFAULT_QUEUE=queue,
        LOG_LEVEL="WARNING",
    )
    created = database.database_ensure(database_url)
    print(f"Database {database_url} ({'created' if created else 'exists'}), broker {redis_url}, queue {queue}")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench import data

    retired = data.earlier_runs_retire()
    if retired:
        print(f"Dead-lettered {retired} message(s) that interrupted runs had left waiting.")
    _outbox_backlog_retire("left pending by an earlier benchmark run")
    foreign = data.foreign_waiting_count()
    if foreign:
        raise SystemExit(
            f"{foreign} message(s) of other sources are waiting in this database and the benchmark's workers "
            "would process them: give the benchmark a database of its own (DATABASE_URL)."
        )
    logs = Path(tempfile.mkdtemp(prefix="partstatus-bench-"))
    scenarios = {name.strip() for name in options.scenario.split(",") if name.strip()}
    unknown = scenarios - {"pipeline", "walk", "notifications", "portal"}
    if unknown:
        raise SystemExit(f"Unknown scenario(s): {', '.join(sorted(unknown))} (pipeline, walk, notifications, portal)")
    results: dict = {"run": run}
    try:
        if "pipeline" in scenarios:
            results = measure(options, run=run, queue=queue, logs=logs, started=started)
        if "walk" in scenarios:
            results["walk"] = _walk(options, run=run, queue=queue, env=dict(os.environ), logs=logs)
        if "notifications" in scenarios:
            from bench.notifications import notifications_scenario

            _outbox_backlog_retire("left pending by an earlier scenario of this benchmark run")
            results["notifications"] = notifications_scenario(
                run=run,
                queue=queue,
                env=dict(os.environ),
                logs=logs,
                triggers=options.notification_triggers,
                sends=options.notification_sends,
            )
        if "portal" in scenarios:
            from bench.portal import portal_scenario

            _outbox_backlog_retire("left pending by an earlier scenario of this benchmark run")
            results["portal"] = portal_scenario(options, run=run, queue=queue, env=dict(os.environ), logs=logs)
    finally:
        _forget_queue(redis_url, queue)
    from bench import report, walk

    results["total_seconds"] = round(time.monotonic() - started, 1)
    if "pipeline" in scenarios:
        print()
        print(report.table(results))
        print()
        print(report.summary(results))
    if "walk" in scenarios:
        print()
        print(walk.walk_table(results["walk"]))
    if "notifications" in scenarios:
        from bench.notifications import notifications_table

        print()
        print(notifications_table(results["notifications"]))
    if "portal" in scenarios:
        from bench.portal import portal_table

        print()
        print(portal_table(results["portal"]))
    print(f"Written to {report.write(results)}; process logs in {logs}")


def _outbox_backlog_retire(reason: str) -> None:
    from bench import data

    retired = data.outbox_backlog_retire(reason)
    if retired:
        print(f"Retired {retired} outbox deliveries {reason.removeprefix('left ')} (the scenario measures deliveries).")


def _walk(options: argparse.Namespace, *, run: str, queue: str, env: dict, logs: Path) -> dict:
    """The walk, with a real celery worker delivering the outbox meanwhile (as in production)."""
    from bench import walk

    print(f"Walk: {options.walk_orders} orders x 3 lines in 1 and 2 processes, outbox delivered by a worker ...")
    workers = processes.start_workers(1, queue=queue, env=env, log=logs / "walk-worker.log")
    try:
        return walk.walk_scenario(run=run, orders=options.walk_orders, measure_orders=options.walk_measure_orders)
    finally:
        for worker in workers:
            processes.stop(worker)


def measure(options: argparse.Namespace, *, run: str, queue: str, logs: Path, started: float) -> dict:
    from bench import data, raw, webhook

    lines_needed = math.ceil(max(options.messages, options.trial_messages) / len(data.STEPS))
    source = data.bench_source(run)
    lines = data.bench_lines(f"B{run}", lines_needed)
    bodies = data.status_messages(run, lines, options.messages)
    env = dict(os.environ)

    # 1. The webhook alone: no worker runs, tasks pile up in the broker.
    port = processes.free_port()
    web_env = {**env, "CONN_MAX_AGE": "60"}
    server = processes.start_web_server(
        options.web_server, port=port, processes=options.web_processes, env=web_env, log=logs / "web.log"
    )
    try:
        print(f"1. POSTing {len(bodies)} messages to {options.web_server} ...", flush=True)
        statuses, seconds = webhook.post_all(
            port=port, source_code=source.code, secret=source.secret, bodies=bodies, threads=options.client_threads
        )
    finally:
        processes.stop(server)
    results = {
        "run": run,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            # Other work on the machine slows every figure down: the load says how busy it was.
            "load_average_at_start": os.getloadavg()[0],
        },
        "messages": options.messages,
        "webhook": {
            "server": options.web_server,
            "processes": options.web_processes,
            "client_threads": options.client_threads,
            "statuses": {str(status): count for status, count in statuses.items()},
            "accepted": statuses[202],
            "seconds": round(seconds, 2),
            "per_second": round(statuses[202] / seconds, 1),
        },
        "applied": [],
    }

    # 2. Workers work off a backlog, once per batch size: the webhook's, then fresh ones.
    for index, batch_size in enumerate(int(size) for size in options.batch_sizes.split(",")):
        if time.monotonic() - started > BUDGET_SECONDS:
            print(f"   skipping INBOUND_BATCH_SIZE={batch_size}: over the time budget")
            continue
        if index:
            source = data.bench_source(f"{run}-{index}")
            lines = data.bench_lines(f"B{run}-{index}", lines_needed)
            data.backlog_store(source, data.status_messages(f"{run}-{index}", lines, options.trial_messages))
        print(f"2. {options.workers} worker(s), INBOUND_BATCH_SIZE={batch_size} ...", flush=True)
        expected = options.trial_messages if index else statuses[202]
        trial = _applied(
            options, source=source, expected=expected, batch_size=batch_size, queue=queue, env=env, logs=logs
        )
        results["applied"].append(trial)
        # Drop the no-op tasks of messages a batch already took (the queue's binding stays).
        redis.Redis.from_url(env["REDIS_URL"]).delete(queue)

    # 3. The raw ceiling, 4. the ratio.
    print("3. raw psycopg loop ...", flush=True)
    ceiling = raw.raw_ceiling(database.conninfo(env["DATABASE_URL"]), events=options.messages, lines=lines_needed)
    results["raw"] = {key: round(value, 2) for key, value in ceiling.items()}
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    for trial in results["applied"]:
        trial["ratio"] = round(trial["per_second"] / ceiling["per_second"], 3)
    return results


def _applied(options, *, source, expected: int, batch_size: int, queue: str, env: dict, logs: Path) -> dict:
    from bench import data

    worker_env = {**env, "INBOUND_BATCH_SIZE": str(batch_size)}
    workers = processes.start_workers(options.workers, queue=queue, env=worker_env, log=logs / "workers.log")
    begun = time.monotonic()
    next_sweep = begun + SWEEP_EVERY
    try:
        # Retries (after a lock conflict, say) wait for a sweep: this process is the scheduler here.
        while data.waiting_count(source) and time.monotonic() - begun < TRIAL_TIMEOUT:
            if any(worker.poll() is not None for worker in workers):
                raise RuntimeError(f"a worker exited; see {logs / 'workers.log'}")
            if time.monotonic() >= next_sweep:
                data.retries_requeue(source)
                next_sweep = time.monotonic() + SWEEP_EVERY
            time.sleep(0.2)
        wall = time.monotonic() - begun
    finally:
        for worker in workers:
            processes.stop(worker)
    summary = data.processing_summary(source)
    seconds = summary["seconds"] or float("nan")
    return {
        "batch_size": batch_size,
        "workers": options.workers,
        "complete": summary["processed"] == expected,
        "processed": summary["processed"],
        "states": summary["states"],
        "applied_events": summary["outcomes"].get("applied", 0),
        "outcomes": summary["outcomes"],
        "seconds": round(seconds, 2),
        "wall_seconds_with_startup": round(wall, 2),
        "per_second": round(summary["processed"] / seconds, 1) if summary["seconds"] else 0.0,
    }


def _forget_queue(redis_url: str, queue: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


if __name__ == "__main__":
    main()
