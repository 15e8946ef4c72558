"""The portal's personas and orders (tests/portal/fixtures.py)."""

from tests.portal.fixtures import (  # noqa: F401
    customer,
    customer_account,
    dealer,
    dealer_account,
    fresh_cache,
    order,
    other_customer,
    showcase,
    technician,
)
