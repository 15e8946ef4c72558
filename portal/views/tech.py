"""Technician pages (/tech/, phone-sized): incoming parts of one's jobs, a part's page with what
the customer sees plus site, carrier and contacts, and confirming delivery on site, offline
first (static/js/tech-confirm.js queues in IndexedDB; /tech/sw.js keeps the pages)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_POST, require_safe

from orders.models import Order
from orders.read_models import Audience, customer_labels, with_view_version
from orders.read_models.subset import view_for_line
from orders.scoping import lines_for_technician
from portal.forms import ConfirmationForm
from portal.selectors import incoming_parts
from portal.services.confirmations import Decision, delivery_confirm
from portal.views.common import errors_response, order_page_context
from portal.views.confirmations import confirmation_answer
from portal.views.orders import live_answer

LOGIN = "portal:login"
VIEWER_HEADER = "X-Tech-Viewer"


@require_safe
@login_required(login_url=LOGIN)
def parts(request):
    labels = customer_labels()
    # Each part's status by the label its order's page gives it, in the viewer's language.
    rows = [
        {"part": part, "line": part.line, "label": labels.get(part.status, {}).get("label", part.status)}
        for part in incoming_parts(request.user)
    ]
    return _kept_for(request.user, render(request, "tech/parts.html", {"rows": rows}))


@require_safe
@login_required(login_url=LOGIN)
def part(request, public_id):
    line = get_object_or_404(lines_for_technician(request.user).select_related("order"), public_id=public_id)
    order = with_view_version(Order.objects.filter(pk=line.order_id)).get()
    context = {
        **order_page_context(request, order, audience=Audience.TECHNICIAN, line_public_id=str(line.public_id)),
        "line_obj": line,
        "ws_path": f"/ws/portal/orders/{order.public_id}/?line={line.public_id}",
        "live_url": reverse("tech:part-live", kwargs={"public_id": line.public_id}),
    }
    return _kept_for(request.user, render(request, "tech/part.html", context))


def _kept_for(user, response):
    """Names whose page this is, for the service worker: it keeps each person's pages apart and
    drops them when someone else signs in or nobody is (a key, not the person's id)."""
    response[VIEWER_HEADER] = salted_hmac("tech-viewer", str(user.pk)).hexdigest()[:32]
    return response


@require_safe
@login_required(login_url=LOGIN)
def part_live(request, public_id):
    """Polling fallback of the part page's websocket."""
    line = get_object_or_404(lines_for_technician(request.user), public_id=public_id)
    order = with_view_version(Order.objects.filter(pk=line.order_id)).get()
    line_public_id = str(line.public_id)
    return live_answer(
        request, order, audience=Audience.TECHNICIAN, narrow=lambda view: view_for_line(view, line_public_id)
    )


@require_POST
@login_required(login_url=LOGIN)
def confirm(request):
    form = ConfirmationForm(request.POST, request.FILES)
    if not form.is_valid():
        return errors_response(ValidationError(form.errors))
    data = form.cleaned_data
    line = lines_for_technician(request.user).select_related("order", "part").filter(public_id=data["line"]).first()
    if line is None:
        raise Http404
    try:
        result = delivery_confirm(
            key=data["key"],
            line=line,
            code=data["code"],
            quantity=data["quantity"],
            confirmed_at=data["confirmed_at"] or timezone.now(),
            note=data["note"],
            photo=data["photo"],
            technician=request.user,
            decision=data["decision"] or Decision.NONE,
        )
    except ValidationError as error:
        return errors_response(error)
    return confirmation_answer(result)


@require_safe
def service_worker(request):
    """Served from /tech/ so that it may control the technician pages (and nothing else)."""
    response = HttpResponse(render_to_string("tech/sw.js"), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/tech/"
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [
    path("", parts, name="parts"),
    path("parts/<uuid:public_id>/", part, name="part"),
    path("parts/<uuid:public_id>/live/", part_live, name="part-live"),
    path("confirmations/", confirm, name="confirm"),
    path("sw.js", service_worker, name="service-worker"),
]
