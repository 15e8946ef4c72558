"""The seed_demo management command: a believable service network with ~500 order histories.

Statuses are built only through orders.services, so the demo data obeys the same rules as real data.
"""

import random
import time
from collections import Counter

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from orders.demo.network import network_ensure
from orders.demo.orders import OrderSeeder, creation_times, next_order_sequence
from orders.models import Order, OrderLine, StatusEvent

DEMO_USERNAME = "demo"
# Orders written per transaction (bulk inserts, one batch of facts): progress is shown per chunk.
CHUNK_ORDERS = 50


class Command(BaseCommand):
    help = (
        "Seed demo data: 3 regions, a dozen sites, ~30 accounts, parts, ~80 assets, and orders created over "
        "the last 60 days whose line histories are sent through the status core's batch path. "
        "Reference data is matched by code and reused. Without --if-empty, the orders are added to whatever "
        "is there, numbered after the highest existing SO- number. In DEBUG, also creates the superuser "
        "demo/demo when missing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--orders", type=int, default=500, help="How many orders to create (default 500).")
        parser.add_argument("--parts", type=int, default=300, help="Size of the parts catalogue (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed; the same seed gives the same data.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any order exists (for the first `make run`)."
        )

    def handle(self, *args, orders: int, parts: int, seed: int, if_empty: bool, **options) -> None:
        if orders < 0 or parts < 1:
            raise CommandError("--orders must be 0 or more and --parts at least 1.")
        if if_empty and Order.objects.exists():
            self.stdout.write("Orders exist already; not seeding demo data (--if-empty).")
            return
        verbosity = options["verbosity"]
        started = time.monotonic()
        events_before = StatusEvent.objects.count()
        rng = random.Random(seed)
        now = timezone.now()
        if verbosity >= 1:
            self.stdout.write(f"Seeding {orders} demo orders (seed {seed}); 500 take about 15 s on SQLite.")
        with transaction.atomic():
            network = network_ensure(rng, part_count=parts)
        seeder = OrderSeeder(rng, network, now)
        first_sequence = next_order_sequence()
        items = [
            (first_sequence + offset, created_at) for offset, created_at in enumerate(creation_times(rng, orders, now))
        ]
        for start in range(0, len(items), CHUNK_ORDERS):
            seeder.orders_seed(items[start : start + CHUNK_ORDERS])
            if verbosity >= 1:
                done = min(start + CHUNK_ORDERS, len(items))
                self.stdout.write(f"  {done}/{len(items)} orders ({time.monotonic() - started:.0f} s)")
        self.demo_user_ensure()

        tally = seeder.tally
        outcomes = ", ".join(f"{count} {outcome}" for outcome, count in sorted(tally.outcomes.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {tally.orders} orders with {tally.lines} lines ({tally.splits} split into 2 child lines) and "
                f"{StatusEvent.objects.count() - events_before} status events in {time.monotonic() - started:.1f} s."
            )
        )
        self.stdout.write(f"Facts sent: {outcomes or 'none'}.")
        if verbosity >= 2:
            statuses = Counter(OrderLine.objects.filter(is_split=False).values_list("status", flat=True))
            for status, count in sorted(statuses.items()):
                self.stdout.write(f"  {status:<18} {count}")

    def demo_user_ensure(self) -> None:
        # A known password is only acceptable on a developer machine.
        if not settings.DEBUG:
            return
        users = get_user_model()
        if users.objects.filter(username=DEMO_USERNAME).exists():
            return
        users.objects.create_superuser(DEMO_USERNAME, "demo@example.com", DEMO_USERNAME)
        self.stdout.write("Created superuser demo (password: demo) because DEBUG is on.")
