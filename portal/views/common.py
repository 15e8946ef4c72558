"""What the portal's, the status links' and the technician pages' views share."""

from django.http import JsonResponse
from django.utils.functional import SimpleLazyObject

from orders.read_models import order_present, order_view
from orders.read_models.cache import CACHE_SECONDS, SHAPE, view_version
from orders.read_models.subset import view_for_line
from portal.branding import branding  # noqa: F401 (the views import it from here)
from portal.page_cache import release_digest


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


# A page shows the newest timeline entries; ?timeline=all shows every one.
TIMELINE_SHOWN = 60


def order_page_context(request, order, *, audience: str, line_public_id: str = "") -> dict:
    """The order body's context. Its HTML is cached per order, view version, audience, line,
    language and time zone (templates/portal/includes/order_body.html): the view is read from its
    cache and presented (labels, times) only when that fragment is rendered anew. The order is
    part of the key: two orders at the same version must never share a fragment."""
    limit = _timeline_limit(request)

    def present():
        view = order_view(order, audience=audience)
        if line_public_id:
            view = view_for_line(view, line_public_id)
        return order_present(view, timeline_limit=limit)

    return {
        "order_page": SimpleLazyObject(present),
        "fragment_key": order_page_key(
            request, order.public_id, view_version(order), audience=audience, line_public_id=line_public_id
        ),
        "order_obj": order,
        "fragment_seconds": CACHE_SECONDS,
    }


def order_page_key(request, order_public_id, version: str, *, audience: str, line_public_id: str = "") -> str:
    """What the order body shows depends on, beside language and zone (see order_page_context):
    the order, its view's version (orders.read_models.cache.view_version), the audience, the line
    of a line's link and how much of the timeline."""
    limit = _timeline_limit(request)
    return f"{release_digest()}:{SHAPE}:{order_public_id}:{audience}:{version}:{line_public_id}:{limit or 'all'}"


def _timeline_limit(request) -> int | None:
    return None if request.GET.get("timeline") == "all" else TIMELINE_SHOWN


def errors_response(error, status: int = 400) -> JsonResponse:
    """A ValidationError as {"errors": {field: [messages]}} naming the fields."""
    errors = error.message_dict if hasattr(error, "message_dict") else {"__all__": error.messages}
    return JsonResponse({"errors": errors}, status=status)
