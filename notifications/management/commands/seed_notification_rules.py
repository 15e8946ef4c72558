from django.core.management.base import BaseCommand

from notifications.defaults import default_rules_seed


class Command(BaseCommand):
    help = "Load the shipped notification rules (those not there yet, by name); edited rules are kept."

    def handle(self, *args, **options) -> None:
        created = default_rules_seed()
        self.stdout.write(f"Notification rules: {created} created.")
