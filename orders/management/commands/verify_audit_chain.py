"""Check the per-line hash chain of status events and print every altered or missing event.

Exits with an error when any problem is found, so that a scheduler or CI job notices.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import OrderLine
from orders.services.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the hash chain of status events of every line, or of the lines given with --line."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--line",
            dest="line_ids",
            action="append",
            type=int,
            metavar="ID",
            help="Check only this line (repeatable).",
        )

    def handle(self, *args, line_ids: list[int] | None = None, **options) -> None:
        if line_ids:
            line_ids = sorted(set(line_ids))
            known = set(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", flat=True))
            unknown = [line_id for line_id in line_ids if line_id not in known]
            if unknown:
                raise CommandError(
                    _("No such line: %(ids)s.") % {"ids": ", ".join(str(line_id) for line_id in unknown)}
                )
            checked = len(line_ids)
        else:
            checked = OrderLine.objects.count()

        problems = audit_chain_verify(line_ids=line_ids)
        for problem in problems:
            self.stdout.write(str(problem))
        if problems:
            raise CommandError(
                ngettext(
                    "%(count)d problem found in the audit chain.",
                    "%(count)d problems found in the audit chain.",
                    len(problems),
                )
                % {"count": len(problems)}
            )
        self.stdout.write(
            self.style.SUCCESS(
                ngettext(
                    "Audit chain intact for %(count)d line.",
                    "Audit chain intact for %(count)d lines.",
                    checked,
                )
                % {"count": checked}
            )
        )
