"""The one place messages get their status links from.

Until the portal's token service is merged this is the order's portal page; the portal will
replace the body with portal.services.links.status_link_issue(...) for the contact's audience.
"""

from django.conf import settings

from orders.models import Order, OrderContact


def status_link_url(*, order: Order, contact: OrderContact | None) -> str:
    """An absolute URL where `contact` follows `order` (contact None: a person in the back office)."""
    return f"{settings.PUBLIC_BASE_URL}/portal/orders/{order.public_id}/"
