"""After an outage: list the lines whose status the facts a source sent and they never recorded
would change (judged with every fact the line has). Nothing changes here; a supervisor applies the
chosen corrections in the back office.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from overrides.services.reconciliation import reconciliation_run_create

COLUMNS = ("line", "current", "proposed", "since", "messages")


class Command(BaseCommand):
    help = "Re-read a source's inbound messages of a time window and list the lines its missing facts would move."

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="Source code")
        parser.add_argument("--since", required=True, help="ISO time with a zone: received at or after")
        parser.add_argument("--until", help="ISO time with a zone: received before (default: now)")
        parser.add_argument(
            "--user",
            required=True,
            help="Who starts the run (needs the right to start reconciliations; sees only their scope). "
            "Four eyes: someone else applies its corrections in the back office.",
        )

    def handle(self, *args, **options):
        since = _moment(options["since"], "since")
        until = _moment(options["until"], "until") if options["until"] else None
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}.")
        try:
            run = reconciliation_run_create(source_code=options["source"], since=since, until=until, user=user)
        except PermissionDenied as refusal:
            raise CommandError(f"{user.get_username()} may not start a reconciliation: {refusal}") from refusal
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        items = run.items.select_related("line__order").order_by("line_id")
        rows = [
            (
                str(item.line),
                item.current_status,
                item.proposed_status,
                item.proposed_occurred_at.isoformat() if item.proposed_occurred_at else "-",
                " ".join(str(message_id) for message_id in item.message_ids),
            )
            for item in items
        ]
        if rows:
            self.stdout.write(_table([COLUMNS, *rows]))
        tally = run.tally
        self.stdout.write(
            f"Reconciliation run #{run.pk}: {len(rows)} mismatch(es) in {run.messages_read} message(s) read; "
            f"skipped {tally.unknown_codes} message(s) with an unknown code, "
            f"{tally.unknown_lines} about unknown or ambiguous lines, {tally.future_messages} dated too far ahead, "
            f"{tally.partials} partial confirmation(s) of lines not split yet (replay those), "
            f"{tally.unreadable_messages} unreadable message(s). Started by {user.get_username()}: "
            "someone else applies the corrections in the back office."
        )


def _moment(text: str, option: str):
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise CommandError(f"--{option} needs an ISO time with a zone, e.g. 2026-11-02T08:00:00Z")
    return moment


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
