"""The portal's personas and orders (tests/portal/fixtures.py), and signing in as one of them."""

import pytest

from tests.e2e.conftest import PASSWORD
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
        page.goto(f"{server.url}/portal/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{server.url}{next_path}")

    return sign_in
