"""Portal demo: a customer, a dealer and a technician (development only, password "demo"), the
OEM's branding, a showcase order, and a status link printed on every run."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from guardian.shortcuts import assign_perm

from orders.models import Account, Asset, ContactRole, OrderContact, Region
from portal.demo import showcase_order
from portal.models import LinkAudience, LinkPurpose, PortalProfile
from portal.services.links import status_link_issue

ORDER_NUMBER = "SO-DEMO-4711"
DEMO_REGION = "emea"


class Command(BaseCommand):
    help = "Create the portal's demo people, branding and showcase order, and print fresh status links."

    def handle(self, *args, **options):
        # The demo customer is a German quarry: Europe's region (and its sites), where planner-emea
        # finds its order, when the demo has one.
        region = Region.objects.filter(code=DEMO_REGION).first() or Region.objects.order_by("code").first()
        if region is None:
            self.stderr.write("No regions yet: run seed_demo first.")
            return
        with transaction.atomic():
            PortalProfile.objects.get_or_create(
                account=None,
                defaults={
                    "brand_name": "Parts Service",
                    "support_email": "service@example.com",
                    "support_phone": "+49 800 123456",
                    "support_hours": "Mon–Fri 7:00–19:00 CET",
                },
            )
            customer, _ = Account.objects.get_or_create(
                number="C-DEMO-PORTAL",
                defaults={"name": "Nordhafen Quarry GmbH", "region": region, "country": "DE", "language": "de"},
            )
            dealer, _ = Account.objects.get_or_create(
                number="D-DEMO-PORTAL",
                defaults={
                    "name": "Hansa Machinery Dealer",
                    "region": region,
                    "country": "DE",
                    "kind": Account.Kind.DEALER,
                },
            )
            if customer.dealer_id != dealer.pk:
                customer.dealer = dealer
                customer.save(update_fields=["dealer"])
            asset, _ = Asset.objects.get_or_create(
                serial_number="EX300-DEMO-0042",
                defaults={
                    "model_name": "Excavator EX-300",
                    "account": customer,
                    "location": "Pit 3",
                    "downtime_cost_per_hour": 1200,
                },
            )
        order = showcase_order(account=customer, number=ORDER_NUMBER, customer_reference="PO-88123", asset=asset)
        if settings.DEBUG:
            customer_user = _person("customer", first_name="Clara")
            dealer_user = _person("dealer", first_name="Dirk")
            technician = _person("technician", first_name="Tomas")
            assign_perm("orders.follow_account_orders", customer_user, customer)
            assign_perm("orders.follow_account_orders", dealer_user, dealer)
            OrderContact.objects.get_or_create(
                order=order,
                role=ContactRole.TECHNICIAN,
                user=technician,
                defaults={"name": "Tomas Field", "phone": "+4915112345678", "email": "technician@example.com"},
            )
            OrderContact.objects.get_or_create(
                order=order,
                role=ContactRole.REQUESTER,
                user=customer_user,
                defaults={"name": "Clara Customer", "email": "customer@example.com", "language": "de"},
            )
            self.stdout.write("Portal: /portal/ as customer or dealer, /tech/ as technician (password demo).")
        view = status_link_issue(order=order, audience=LinkAudience.CUSTOMER)
        confirm = status_link_issue(order=order, audience=LinkAudience.TECHNICIAN, purpose=LinkPurpose.VIEW_CONFIRM)
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(f"Status link of {order.number} (customer): {base}{view.path}")
        self.stdout.write(f"Status link of {order.number} (technician, may confirm delivery): {base}{confirm.path}")


def _person(username: str, *, first_name: str):
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"first_name": first_name})
    if created:
        user.set_password("demo")
        user.save(update_fields=["password"])
    return user
