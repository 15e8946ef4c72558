"""Shared fixtures: times, actors and personas."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission

from orders.services import Actor
from tests.factories import OrderLineFactory, UserFactory

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def t0() -> datetime:
    """A fixed source-clock time facts are placed around."""
    return T0


@pytest.fixture
def sap() -> Actor:
    return Actor.integration("SAP-ERP")


@pytest.fixture
def line(db):
    return OrderLineFactory(quantity=10)


@pytest.fixture
def viewer(db):
    """A back-office person who may read orders through the API."""
    user = UserFactory(username="viewer")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_order", "view_orderline"]))
    return user


@pytest.fixture
def supervisor(db):
    """May override line statuses on every line."""
    user = UserFactory(username="supervisor")
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_order", "view_orderline", "override_line_status"])
    )
    return user


@pytest.fixture
def outsider(db):
    """Signed in, but with no permission on orders."""
    return UserFactory(username="outsider")
