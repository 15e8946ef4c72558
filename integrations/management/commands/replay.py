"""Put inbound messages back in the queue: by id, by source and time window, or all dead letters."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from integrations.models import InboundMessage, MessageState
from integrations.services.inbox import inbound_messages_replay


class Command(BaseCommand):
    help = "Replay dead, quarantined or retrying inbound messages (processed ones are never re-applied)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="Inbound message ids")
        parser.add_argument("--source", help="Source code")
        parser.add_argument("--since", help="ISO time: received at or after")
        parser.add_argument("--until", help="ISO time: received before")
        parser.add_argument("--dead", action="store_true", help="Every dead letter (with --source: of that source)")
        parser.add_argument("--quarantined", action="store_true", help="Every quarantined message")

    def handle(self, *args, **options):
        messages = InboundMessage.objects.all()
        if options["ids"]:
            messages = messages.filter(pk__in=options["ids"])
        elif not (options["source"] or options["dead"] or options["quarantined"]):
            raise CommandError("Give message ids, --source (with --since/--until), --dead or --quarantined.")
        if options["source"]:
            messages = messages.filter(source__code=options["source"])
        for option, lookup in (("since", "received_at__gte"), ("until", "received_at__lt")):
            if options[option]:
                moment = parse_datetime(options[option])
                if moment is None or moment.tzinfo is None:
                    raise CommandError(f"--{option} needs an ISO time with a zone, e.g. 2026-11-02T08:00:00Z")
                messages = messages.filter(**{lookup: moment})
        states = [
            s for flag, s in (("dead", MessageState.DEAD), ("quarantined", MessageState.QUARANTINED)) if options[flag]
        ]
        if states:
            messages = messages.filter(state__in=states)
        count = inbound_messages_replay(message_ids=list(messages.values_list("pk", flat=True)))
        self.stdout.write(self.style.SUCCESS(f"Queued {count} message(s) again."))
