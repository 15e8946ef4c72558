"""Notifications: how soon a critical SMS reaches Twilio after its trigger, and how many
notifications one worker sends per second, through the official Twilio client to the local fake.

1. latency: A-part lines whose requester has a phone ship one after the other (a status fact
   through apply_status_update, committed); a real celery worker delivers the outbox, the rules
   create the SMS notification and a send task hands it to Twilio. Measured from the commit of
   the trigger to the moment the fake received the API call (p50, p95, max; target p95 <= 5 s).
2. throughput: notifications waiting to be sent (one per recipient), their send tasks queued at
   once; one worker (concurrency 2) claims, renders and sends each. Measured from the first task
   queued to the last API call received.
"""

import time
from datetime import UTC, datetime, timedelta

from bench import processes

TARGET_P95_SECONDS = 5.0
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def notifications_scenario(*, run: str, queue: str, env: dict, logs, triggers: int, sends: int) -> dict:
    from notifications.defaults import default_rules_seed
    from notifications.fake_twilio import FakeTwilio

    default_rules_seed()
    fake = FakeTwilio(account_sid="AC" + "3" * 32, auth_token="bench-twilio-token").start()
    worker_env = {
        **env,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_URL": fake.url,
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    lines = _lines(run, max(triggers, 1))
    workers = processes.start_workers(1, queue=queue, env=worker_env, log=logs / "notifications-worker.log")
    try:
        processes.worker_wait_ready(f"{queue}-0@bench")
        latency = _latency(fake, lines[:triggers])
        throughput = _throughput(fake, run, lines, sends)
    finally:
        for worker in workers:
            processes.stop(worker)
        fake.stop()
    return {"latency": latency, "throughput": throughput}


def _lines(run: str, count: int) -> list:
    from orders.models import Account, Order, OrderContact, OrderLine, Part, Region, Site

    region, _ = Region.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    account, _ = Account.objects.get_or_create(
        number=f"NB{run}", defaults={"name": "Bench notifications", "region": region, "country": "DE"}
    )
    part, _ = Part.objects.get_or_create(
        number="BENCH-A-PART", defaults={"description": "Main pump", "category": "bench", "criticality": "A"}
    )
    site, _ = Site.objects.get_or_create(
        code="bench-dc", defaults={"name": "Bench DC", "kind": "dc", "region": region, "country": "DE"}
    )
    orders = Order.objects.bulk_create(
        Order(number=f"N{run}-{n:05d}", account=account, region=region) for n in range(count)
    )
    lines = OrderLine.objects.bulk_create(
        OrderLine(order=order, number="10", part=part, quantity=1, site=site) for order in orders
    )
    OrderContact.objects.bulk_create(
        OrderContact(
            order=order,
            role="requester",
            name=f"Requester {n}",
            email=f"requester{n}@bench.example",
            phone=f"+4917{int(run[-6:], 16) % 1000:03d}{n:06d}",
            time_zone="Europe/Berlin",
        )
        for n, order in enumerate(orders)
    )
    return lines


def _latency(fake, lines: list) -> dict:
    from orders.models import OrderContact
    from orders.services import Actor, apply_status_update

    phones = dict(OrderContact.objects.filter(order__lines__in=lines).values_list("order_id", "phone"))
    started: dict[str, float] = {}
    print(f"Notifications 1. {len(lines)} A parts ship, one every 0.2 s; the worker sends each SMS ...", flush=True)
    for index, line in enumerate(lines):
        apply_status_update(
            line_id=line.pk,
            status="shipped",
            occurred_at=START + timedelta(seconds=index),
            actor=Actor.integration("bench"),
        )
        started[phones[line.order_id]] = time.time()  # committed: the trigger is in the outbox
        time.sleep(0.2)
    received = _wait_for(fake, set(started), timeout=120)
    seconds = sorted(received[phone] - started[phone] for phone in received)
    return {
        "triggers": len(lines),
        "received": len(received),
        "p50_seconds": _percentile(seconds, 50),
        "p95_seconds": _percentile(seconds, 95),
        "max_seconds": round(seconds[-1], 3) if seconds else None,
        "target_p95_seconds": TARGET_P95_SECONDS,
    }


def _throughput(fake, run: str, lines: list, count: int) -> dict:
    from django.utils import timezone

    from notifications.models import Notification
    from notifications.tasks import notification_send_task

    now = timezone.now()
    phones = [f"+4916{int(run[-6:], 16) % 1000:03d}{n:06d}" for n in range(count)]
    rows = Notification.objects.bulk_create(
        Notification(
            event_key=f"bench:{run}:{n}",
            kind="status_reached",
            order_id=lines[n % len(lines)].order_id,
            line_id=lines[n % len(lines)].pk,
            role="requester",
            recipient_name=f"Recipient {n}",
            address=phone,
            channel="sms",
            time_zone="Europe/Berlin",
            critical=True,
            due_at=now,
        )
        for n, phone in enumerate(phones)
    )
    print(f"Notifications 2. {count} SMS notifications queued at once for one worker ...", flush=True)
    begun = time.time()
    for row in rows:
        notification_send_task.delay(row.pk)
    received = _wait_for(fake, set(phones), timeout=180)
    seconds = max(received.values()) - begun if received else float("nan")
    return {
        "notifications": count,
        "sent": len(received),
        "seconds": round(seconds, 2),
        "per_second": round(len(received) / seconds, 1) if received else 0.0,
    }


def _wait_for(fake, phones: set[str], *, timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        received = {m["to"]: m["received_at"] for m in fake.sent() if m["to"] in phones}
        if len(received) == len(phones) or time.monotonic() > deadline:
            return received
        time.sleep(0.1)


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(percent / 100 * len(values) + 0.5) - 1))
    return round(values[index], 3)


def notifications_table(results: dict) -> str:
    latency, throughput = results["latency"], results["throughput"]
    verdict = "met" if (latency["p95_seconds"] or 1e9) <= TARGET_P95_SECONDS else "MISSED"
    return "\n".join(
        [
            "Notifications (official Twilio client -> local fake, one celery worker, concurrency 2)",
            f"  trigger -> Twilio API call, critical SMS: {latency['received']}/{latency['triggers']} received, "
            f"p50 {latency['p50_seconds']} s, p95 {latency['p95_seconds']} s, max {latency['max_seconds']} s "
            f"(target p95 <= {TARGET_P95_SECONDS:g} s: {verdict})",
            f"  sent by one worker: {throughput['sent']}/{throughput['notifications']} in {throughput['seconds']} s "
            f"= {throughput['per_second']} notifications/s",
        ]
    )
