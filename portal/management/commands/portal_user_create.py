"""Create (or extend) a customer or dealer person of the portal: they follow the orders of the
accounts named (a dealer account: its customers' too)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from guardian.shortcuts import assign_perm

from orders.models import Account
from orders.services.preferences import user_preferences_update


class Command(BaseCommand):
    help = "Create a portal person who follows the orders of the given accounts (by account number)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--account", action="append", required=True, help="account number (repeatable)")
        parser.add_argument("--email", default="")
        parser.add_argument("--language", default="", help="en, de, fr or es; blank: the browser's")
        parser.add_argument("--time-zone", default="", help="e.g. Europe/Berlin; blank: the browser's")

    @transaction.atomic
    def handle(self, *args, username, account, email, language, time_zone, **options):
        accounts = list(Account.objects.filter(number__in=account))
        missing = set(account) - {found.number for found in accounts}
        if missing:
            raise CommandError(f"No account numbered {', '.join(sorted(missing))}.")
        user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        for followed in accounts:
            assign_perm("orders.follow_account_orders", user, followed)
        if language or time_zone:
            user_preferences_update(user=user, language=language, time_zone=time_zone)
        names = ", ".join(str(followed) for followed in accounts)
        self.stdout.write(f"{username} follows {names} at /portal/.")
        if created:
            self.stdout.write(f"Set a password with: manage.py changepassword {username}")
