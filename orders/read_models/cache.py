"""The cached view of an order per audience: built once per change, then one cache hit a read.

The cache key is the order and audience; the entry carries the version it was built at: the
order's outbox sequence (every status change, split, upsert and suppression publishes one), the
time its shipments last changed (carrier tracking updates publish none) and the order's last
save (a header edited in the admin, its contacts changed). A reader fetched
the order (its scope check) with that version; an entry of another version is rebuilt. The
version is read before the build, so an entry is never older than its version says. Label
texts are not part of it: they are applied per request (presentation.py).
"""

from datetime import UTC

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.models import Order, Shipment
from orders.read_models.build import order_view_build

# Versions decide freshness; this bounds how long an entry lives (reads do not extend it), and
# so how late reference data no version covers shows: a part's description, a site's or an
# account's name edited shows within three times this (the view, the page's order body and the
# whole page each live this long: portal.views.common, portal.page_cache).
CACHE_SECONDS = 300


class Audience:
    CUSTOMER = "customer"  # portal users and customer status links
    TECHNICIAN = "technician"  # field technicians: the customer view plus site, carrier, contacts


def with_view_version(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """Orders with what their view's version needs (the scope check's query brings it)."""
    latest_shipment = Shipment.objects.filter(order=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    return queryset.select_related("account", "asset").annotate(shipments_changed_at=Subquery(latest_shipment))


def aware(value):
    """A datetime a plain query gave, as the ORM gives it (SQLite gives text, naive in UTC)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def view_version(order: Order) -> str:
    """The order's outbox sequence (status changes, splits, upserts, suppressions), the last
    change of its shipments (carrier updates publish no event), the order's own last save (its
    header edited) and the last change of what else its views show (its contacts, a line deleted
    in the admin: orders.read_models.freshness)."""
    stamps = (getattr(order, "shipments_changed_at", None), order.updated_at, order.view_changed_at)
    return ":".join([str(order.outbox_sequence), *(f"{stamp.timestamp()}" if stamp else "0" for stamp in stamps)])


# The shape's revision: raised when what a view holds changes (2: a field withdrawn from an
# audience; 3: lines carry progress and shipped; 4: carriers carry their name; 5: the summary
# counts a held shipped line; 6: a line at its destination carries when it arrived and no ETA,
# the header what it expects; 7: a cancelled or returned line carries no ETA, a delivered
# shipment when it was delivered and no ETA), so that no entry built before is served after a
# deploy.
SHAPE = 7


def _key(order_id: int, audience: str) -> str:
    return f"order-view:{SHAPE}:{audience}:{order_id}"


def order_view(order: Order, *, audience: str = Audience.CUSTOMER) -> dict:
    """The view of an order fetched through with_view_version (else its version is read here)."""
    return order_view_versioned(order, audience=audience)[1]


def order_view_versioned(order: Order, *, audience: str = Audience.CUSTOMER) -> tuple[dict | None, dict]:
    """(the entry cached before, when another version; the current view). The live push uses the
    earlier entry to send only what changed."""
    if not hasattr(order, "shipments_changed_at"):
        order = with_view_version(Order.objects.filter(pk=order.pk)).get()
    version = view_version(order)
    key = _key(order.pk, audience)
    cached = cache.get(key)
    if cached is not None and cached["version"] == version:
        return None, cached["view"]
    view = order_view_build(order, audience=audience)
    cache.set(key, {"version": version, "view": view}, CACHE_SECONDS)
    return (cached["view"] if cached is not None else None), view
