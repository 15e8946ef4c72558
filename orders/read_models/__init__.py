"""Read models by audience: what a customer (portal, status links, later partners) or a field
technician may see of an order, built once per change, cached, and presented in the viewer's
language. Templates and websockets render what these give; they never filter."""

from orders.read_models.cache import Audience, order_view, order_view_versioned, with_view_version
from orders.read_models.changes import localize_change, view_changes
from orders.read_models.presentation import OrderPresentation, customer_labels, order_present

__all__ = [
    "Audience",
    "OrderPresentation",
    "customer_labels",
    "localize_change",
    "order_present",
    "order_view",
    "order_view_versioned",
    "view_changes",
    "with_view_version",
]
