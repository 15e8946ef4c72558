from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.defaults import default_rules_seed
from notifications.demo import SHOWCASE_ORDER, showcase_contacts_ensure


class Command(BaseCommand):
    help = (
        "Load the shipped notification rules (those not there yet, by name); edited rules are kept. In DEBUG, "
        f"also give the showcase order {SHOWCASE_ORDER} (seed_demo_portal) demo recipients in several languages."
    )

    def handle(self, *args, **options) -> None:
        created = default_rules_seed()
        self.stdout.write(f"Notification rules: {created} created.")
        if settings.DEBUG:
            added = showcase_contacts_ensure()
            self.stdout.write(f"Demo recipients of {SHOWCASE_ORDER}: {added} added.")
