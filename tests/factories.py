"""factory_boy factories for the status core's reference data, orders and lines."""

import factory
from django.contrib.auth import get_user_model

from orders.models import Account, Asset, Order, OrderLine, Part, Region, Site
from orders.services import Actor, Provenance
from orders.services.events import line_start_record


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "emea"
    name = "Europe, Middle East and Africa"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    code = factory.Sequence(lambda n: f"dc-{n:03d}")
    name = factory.Sequence(lambda n: f"DC {n:03d}")
    kind = Site.Kind.DISTRIBUTION_CENTRE
    region = factory.SubFactory(RegionFactory)
    country = "NL"
    time_zone = "Europe/Amsterdam"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"C{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    region = factory.SubFactory(RegionFactory)
    country = "DE"


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Part

    number = factory.Sequence(lambda n: f"PN-{n:06d}")
    description = "Hydraulic valve"
    category = "hydraulics"
    criticality = "B"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    model_name = "Excavator EX-300"
    account = factory.SubFactory(AccountFactory)
    downtime_cost_per_hour = 850


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-{n:07d}")
    account = factory.SubFactory(AccountFactory)
    region = factory.SelfAttribute("account.region")


class OrderLineFactory(factory.django.DjangoModelFactory):
    """A fresh line in status `received`, as an order upsert leaves it: no status time until a
    source says (or the order's source creation time, `start_occurred_at`), and its first event
    in the audit chain. Move it with orders.services, never by assignment."""

    class Meta:
        model = OrderLine
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    number = factory.Sequence(lambda n: str(10 * (n + 1)))
    part = factory.SubFactory(PartFactory)
    quantity = 1
    site = factory.SubFactory(SiteFactory)
    start_occurred_at = None
    status_occurred_at = factory.SelfAttribute("start_occurred_at")

    @factory.post_generation
    def start_event(line, create, extracted, **kwargs):
        if create:
            line_start_record(
                line=line, occurred_at=line.start_occurred_at, actor=Actor.system("factory"), provenance=Provenance()
            )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")
