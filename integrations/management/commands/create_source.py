"""Register a source system (or update its format, kind and secret) from the command line."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from integrations.models import MessageFormat, SourceKind, SourceSystem, Transport


class Command(BaseCommand):
    help = "Create or update a source system. A new --secret on an existing source starts a rotation."

    def add_arguments(self, parser):
        parser.add_argument("code", help="Short code used in the webhook URL, e.g. sap-erp-emea")
        parser.add_argument("--format", required=True, choices=MessageFormat.values, dest="message_format")
        parser.add_argument("--secret", required=True, help="Shared secret for webhook signatures")
        parser.add_argument("--kind", choices=SourceKind.values, default=SourceKind.ERP)
        parser.add_argument("--transport", choices=Transport.values, default=Transport.WEBHOOK)
        parser.add_argument("--name", default="")
        parser.add_argument("--time-zone", default="UTC", help="For timestamps sent without a zone")
        parser.add_argument(
            "--rotation-hours",
            type=int,
            default=24,
            help="When the secret changes, how long the previous one stays valid",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if len(options["secret"]) < 16:
            raise CommandError("The secret must be at least 16 characters.")
        source = SourceSystem.objects.filter(code=options["code"]).first()
        created = source is None
        if created:
            source = SourceSystem(code=options["code"])
        elif source.secret != options["secret"]:
            source.previous_secret = source.secret
            source.previous_secret_expires_at = timezone.now() + timedelta(hours=options["rotation_hours"])
        source.name = options["name"] or source.name or options["code"]
        source.kind = options["kind"]
        source.message_format = options["message_format"]
        source.transport = options["transport"]
        source.time_zone = options["time_zone"]
        source.secret = options["secret"]
        source.full_clean()
        source.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} source {source.code} ({source.message_format})."))
        self.stdout.write(f"Webhook: POST /api/v1/inbound/{source.code}/")
