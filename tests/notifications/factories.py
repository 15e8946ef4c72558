"""Factories of notification tests: order contacts as the core stores them."""

import factory

from orders.models import ContactRole, OrderContact


class OrderContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderContact

    role = ContactRole.REQUESTER
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    phone = factory.Sequence(lambda n: f"+491511{n:07d}")
    language = "en"
    time_zone = "Europe/Berlin"
