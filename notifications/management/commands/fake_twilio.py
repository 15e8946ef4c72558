import contextlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from notifications.fake_twilio import FakeTwilio


class Command(BaseCommand):
    help = (
        "Serve a local fake of Twilio's Messages API for development (the official client talks to it when "
        "TWILIO_API_URL points here; DEBUG does so by default)."
    )

    def add_arguments(self, parser) -> None:
        default_port = urlsplit(settings.TWILIO_API_URL).port if settings.TWILIO_API_URL else None
        parser.add_argument("--port", type=int, default=default_port or 8055)
        parser.add_argument("--no-callbacks", action="store_true", help="do not send status callbacks")

    def handle(self, *args, **options) -> None:
        fake = FakeTwilio(
            account_sid=settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            auth_token=settings.TWILIO_AUTH_TOKEN or "fake-twilio-auth-token",
            port=options["port"],
        )
        fake.callbacks = not options["no_callbacks"]
        self.stdout.write(
            f"Fake Twilio Messages API on {fake.url}; status callbacks {'off' if options['no_callbacks'] else 'on'}"
        )
        with contextlib.suppress(KeyboardInterrupt):
            fake.serve_forever()
