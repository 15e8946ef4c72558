"""The portal's personas and orders (tests/portal/fixtures.py), and signing in as one of them."""

import pytest

from tests.e2e.conftest import sign_in_at
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


@pytest.fixture
def sign_in(server):
    """Sign `page` in on the portal's login page as `username`, and wait until it lands on `next_path`."""

    def sign_in(page, username: str, next_path: str) -> None:
        sign_in_at(page, server.url, "/portal/login/", username, next_path)

    return sign_in
