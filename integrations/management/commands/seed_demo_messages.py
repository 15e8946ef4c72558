"""Demo inbound messages, through the real intake: depot sheet rows from the depot portal, most
processed onto their lines (the timeline links to them), two quarantined on a code nobody mapped
yet (create the mapping, then replay), one dead that cannot be read, and a few that died while
the database was down, whose facts the lines never recorded: a reconciliation over the depot
portal's last days finds them and a second supervisor can apply the corrections. Idempotent: a
database that has depot portal messages is left alone."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from integrations.models import InboundMessage, SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive
from integrations.services.processing import inbound_message_process
from orders.models import OrderLine

SOURCE = "DEPOT-PORTAL"
HEADER = "order,line,status,time,site,clerk,note\n"
NEXT_STEP = {"released": "PICKED", "allocated": "PICKED", "picking": "PACKED", "packed": "SHIPPED"}
OUTAGE = "Temporary: the database was unreachable during the outage; attempts exhausted."
UNREADABLE = "SO-,,,,\n\x0c%PDF-1.4 (a scanned sheet uploaded as CSV)"


class Command(BaseCommand):
    help = "Send demo depot sheet rows through the intake (once): processed, quarantined and dead letters."

    def handle(self, *args, **options) -> None:
        source = SourceSystem.objects.filter(code=SOURCE).first()
        if source is None or InboundMessage.objects.filter(source=source).exists():
            self.stdout.write("Demo inbound messages: nothing to do.")
            return
        now = timezone.now()
        lines = list(
            OrderLine.objects.filter(
                is_split=False,
                order__is_test=False,
                status__in=list(NEXT_STEP),
                status_occurred_at__lte=now - timedelta(minutes=30),
            )
            .select_related("order")
            .order_by("order__number", "number")[:13]
        )
        sent = {"processed": 0, "quarantined": 0, "dead": 0}
        for index, line in enumerate(lines):
            when = line.status_occurred_at + min(timedelta(minutes=40), (now - line.status_occurred_at) / 2)
            code = NEXT_STEP[line.status]
            if index < 3:
                # Died in the outage: the reconciliation over these days finds what they said.
                self._row(source, line, code, when, clerk="marta", failure=OUTAGE)
                sent["dead"] += 1
            elif index < 5:
                # A code the depot started using before anyone mapped it.
                self._row(source, line, "VERLADEN", when, clerk="jens")
                sent["quarantined"] += 1
            else:
                self._row(source, line, code, when, clerk="marta")
                sent["processed"] += 1
        message, _created = inbound_message_receive(
            source=source, raw=UNREADABLE, transport=Transport.FILE, provenance="demo sheet upload"
        )
        inbound_message_process(message_id=message.pk)
        sent["dead"] += 1
        self.stdout.write(
            f"Demo inbound messages from {SOURCE}: {sent['processed']} processed, "
            f"{sent['quarantined']} quarantined on an unknown code, {sent['dead']} dead letters."
        )

    def _row(self, source, line: OrderLine, code: str, when, *, clerk: str, failure: str = "") -> None:
        row = f"{line.order.number},{line.number},{code},{when:%Y-%m-%d %H:%M},,{clerk},\n"
        message, _created = inbound_message_receive(
            source=source,
            raw=HEADER + row,
            transport=Transport.FILE,
            provenance="demo sheet upload",
            failure=failure,
        )
        if not failure:
            inbound_message_process(message_id=message.pk)
