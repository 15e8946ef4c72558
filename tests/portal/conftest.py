"""The portal's personas and orders (tests/portal/fixtures.py), and the notifications' real SMTP
server, Twilio fake and shipped rules, for links our messages send."""

from tests.notifications.conftest import mailbox, rules, twilio  # noqa: F401
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
