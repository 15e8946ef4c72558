"""Check the per-line audit chain of status events and print every problem it finds: altered,
missing or unanchored events, a line status its chain does not give, a suppression without its
approved request. Exits with an error when any problem is found, so that a scheduler or CI notices.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.models import OrderLine
from orders.services.audit import audit_chain_anchor, audit_chain_check


class Command(BaseCommand):
    help = "Verify the audit chain of status events of every line, or of the lines given with --line."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--line",
            dest="line_ids",
            action="append",
            type=int,
            metavar="ID",
            help="Check only this line (repeatable).",
        )
        parser.add_argument(
            "--anchor",
            action="store_true",
            help="Anchor the heads of the lines found intact (and, checking every line, write the day's digest).",
        )

    def handle(self, *args, line_ids: list[int] | None = None, anchor: bool = False, **options) -> None:
        if line_ids:
            line_ids = sorted(set(line_ids))
            known = set(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", flat=True))
            unknown = [line_id for line_id in line_ids if line_id not in known]
            if unknown:
                raise CommandError(
                    _("No such line: %(ids)s.") % {"ids": ", ".join(str(line_id) for line_id in unknown)}
                )

        report = audit_chain_check(line_ids=line_ids)
        if anchor:
            anchored = audit_chain_anchor(report=report)
            self.stdout.write(
                ngettext("%(count)d line anchored.", "%(count)d lines anchored.", anchored) % {"count": anchored}
            )
        if report.unkeyed_events:
            self.stdout.write(
                ngettext(
                    "%(count)d event was written before the chain was keyed and verifies with its unkeyed hash.",
                    "%(count)d events were written before the chain was keyed and verify with their unkeyed hash.",
                    report.unkeyed_events,
                )
                % {"count": report.unkeyed_events}
            )
        for problem in report.problems:
            self.stdout.write(str(problem))
        if report.problems:
            raise CommandError(
                ngettext(
                    "%(count)d problem found in the audit chain.",
                    "%(count)d problems found in the audit chain.",
                    len(report.problems),
                )
                % {"count": len(report.problems)}
            )
        self.stdout.write(
            self.style.SUCCESS(
                ngettext(
                    "Audit chain intact for %(count)d line.",
                    "Audit chain intact for %(count)d lines.",
                    report.lines_checked,
                )
                % {"count": report.lines_checked}
            )
        )
