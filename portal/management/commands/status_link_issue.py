"""Issue a status link for an order (or one line) and print it: the token is shown only here."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from orders.models import Order, OrderLine
from portal.models import LinkAudience, LinkPurpose
from portal.services.links import status_link_issue


class Command(BaseCommand):
    help = "Issue a status link (customer or technician; view, or view and confirm delivery) and print its URL."

    def add_arguments(self, parser):
        parser.add_argument("order", help="order number")
        parser.add_argument("--issuer", default=None, help="the ERP that issued the number, when several did")
        parser.add_argument("--line", default="", help="line number: a link to this line only")
        parser.add_argument("--audience", choices=LinkAudience.values, default=LinkAudience.CUSTOMER)
        parser.add_argument("--purpose", choices=LinkPurpose.values, default=LinkPurpose.VIEW)
        parser.add_argument("--days", type=int, default=None, help="valid for (default: the account's, else 14)")
        parser.add_argument("--base-url", default="", help="e.g. https://parts.example.com")

    def handle(self, *args, order, issuer, line, audience, purpose, days, base_url, **options):
        orders = Order.objects.filter(number=order)
        if issuer is not None:
            orders = orders.filter(issuer=issuer)
        found = list(orders[:2])
        if len(found) != 1:
            raise CommandError(f"{len(found) or 'No'} orders numbered {order}: name its --issuer.")
        chosen_line = None
        if line:
            chosen_line = OrderLine.objects.filter(order=found[0], number=line).first()
            if chosen_line is None:
                raise CommandError(f"Order {order} has no line {line}.")
        try:
            issued = status_link_issue(
                order=found[0],
                line=chosen_line,
                audience=audience,
                purpose=purpose,
                expires_in=timedelta(days=days) if days else None,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"{base_url.rstrip('/')}{issued.path}")
        self.stdout.write(f"valid until {issued.link.expires_at:%Y-%m-%d %H:%M} UTC, id {issued.link.public_id}")
