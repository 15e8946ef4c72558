"""Status link pages, without signing in: /s/<token>/ shows the order (or line) as the link's
audience may see it; an unknown token is 404, an expired or revoked one 410 with a way to ask
for a fresh link, too many opens 429. Every open is logged (portal.services.links)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_POST, require_safe

from orders.models import Order, OrderLine
from orders.read_models import with_view_version
from orders.read_models.subset import view_for_line
from portal.branding import account_branding
from portal.forms import ConfirmationForm
from portal.models import LinkAudience, LinkPurpose
from portal.page_cache import page_render
from portal.selectors import order_with_version
from portal.services.confirmations import Decision, delivery_confirm
from portal.services.links import (
    LinkOutcome,
    address_attempt_counted,
    status_link_find,
    status_link_open,
    status_link_renewal_request,
)
from portal.views.common import branding, client_address, errors_response, order_page_context, order_page_key
from portal.views.confirmations import confirmation_answer
from portal.views.orders import live_answer

# Set by static/js/time-zone.js just before it loads a page again to learn the browser's zone.
RELOAD_COOKIE = "tz-reload"


def _private(response):
    """Nothing of a link page is cached, and no request from it passes the token on as a referrer
    (only the origin: a form posted from it still carries an Origin header for the CSRF check)."""
    response["Referrer-Policy"] = "origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _narrow(link):
    if link.line_id is None:
        return None
    line_public_id = str(link.line.public_id)
    return lambda view: view_for_line(view, line_public_id)


@require_safe
def link_page(request, token: str):
    response = _link_page(request, token)
    # The time zone's reload (static/js/time-zone.js) is over: later reloads are openings again.
    if RELOAD_COOKIE in request.COOKIES:
        response.delete_cookie(RELOAD_COOKIE)
    return response


def _link_page(request, token: str):
    opening = status_link_open(
        token=token,
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        reload=request.COOKIES.get(RELOAD_COOKIE) == "1",
    )
    link = opening.link
    if opening.outcome == LinkOutcome.LIMITED and link is None:
        return _limited(request)
    if link is None:
        raise Http404
    _speak_the_links_language(request, link)
    if opening.outcome == LinkOutcome.LIMITED:
        brand = branding(link.order.account)
        return _private(render(request, "portal/link_limited.html", {"brand": brand}, status=429))
    if opening.outcome != LinkOutcome.SHOWN:
        brand = branding(link.order.account)
        return _private(
            render(
                request,
                "portal/link_gone.html",
                {"brand": brand, "token": token, "outcome": opening.outcome},
                status=410,
            )
        )
    line_public_id = str(link.line_public_id) if link.line_public_id else ""

    def context() -> dict:
        order = order_with_version(link.order_id)
        return {
            **order_page_context(request, order, audience=link.audience, line_public_id=line_public_id),
            "brand": account_branding(order.account_id),
            "link": link,
            "token": token,
            "link_line_public_id": line_public_id,
            "ws_path": f"/ws/s/{token}/",
            "live_url": reverse("status-link:live", kwargs={"token": token}),
            "technician": link.audience == LinkAudience.TECHNICIAN,
            "may_confirm": link.purpose == LinkPurpose.VIEW_CONFIRM,
        }

    # Links showing the same share the page (the token is put in each time: portal.page_cache).
    # The opening read the order's version with the link: a cached page costs no further query.
    parts = (
        "status-link",
        order_page_key(
            request, link.order_public_id, link.order_version, audience=link.audience, line_public_id=line_public_id
        ),
        link.audience,
        link.purpose,
        link.order_account_id,
        link.brand_stamp,
    )
    return _private(page_render(request, "portal/link.html", context, parts=parts, token=token))


def _speak_the_links_language(request, link) -> None:
    """A link sent to someone speaks their language, unless this browser chose one here."""
    if link.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        translation.activate(link.language)
        request.LANGUAGE_CODE = link.language


def _usable_link(request, token: str):
    """The link a live feed, renewal or confirmation names (None: the address is over its rate
    limit); 404 for an unknown token. Each request counts against the address's limit."""
    if address_attempt_counted(client_address(request)):
        return None
    link = status_link_find(token)
    if link is None:
        raise Http404
    return link


@require_safe
def link_live(request, token: str):
    link = _usable_link(request, token)
    if link is None:
        return _limited(request)
    if not link.is_usable():
        return _private(JsonResponse({"gone": True}, status=410))
    _speak_the_links_language(request, link)
    order = with_view_version(Order.objects.filter(pk=link.order_id)).get()
    return _private(live_answer(request, order, audience=link.audience, narrow=_narrow(link)))


@require_POST
def link_renew(request, token: str):
    link = _usable_link(request, token)
    if link is None:
        return _limited(request)
    if link.is_usable():
        return redirect("status-link:page", token=token)
    status_link_renewal_request(link=link, ip_address=client_address(request))
    return _private(render(request, "portal/link_renewal_sent.html", {"brand": branding(link.order.account)}))


@require_POST
def link_confirm(request, token: str):
    """A technician's link with purpose "view and confirm": the same confirmation as /tech/."""
    link = _usable_link(request, token)
    if link is None:
        return _limited(request)
    if link.audience != LinkAudience.TECHNICIAN or link.purpose != LinkPurpose.VIEW_CONFIRM:
        raise Http404
    if not link.is_usable():
        return _private(JsonResponse({"gone": True}, status=410))
    _speak_the_links_language(request, link)
    form = ConfirmationForm(request.POST, request.FILES)
    if not form.is_valid():
        return errors_response(ValidationError(form.errors))
    data = form.cleaned_data
    lines = OrderLine.objects.filter(order_id=link.order_id).select_related("order", "part")
    line = lines.filter(public_id=data["line"]).first()
    if line is None or (link.line_id and link.line_id not in _line_and_ancestors(line)):
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
            link=link,
            decision=data["decision"] or Decision.NONE,
        )
    except ValidationError as error:
        return errors_response(error)
    return _private(confirmation_answer(result))


def _limited(request):
    return _private(render(request, "portal/link_limited.html", {"brand": {}}, status=429))


def _line_and_ancestors(line: OrderLine) -> set[int]:
    ids, parent_id = {line.pk}, line.parent_id
    while parent_id is not None:
        ids.add(parent_id)
        parent_id = OrderLine.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return ids


urlpatterns = [
    path("<str:token>/", link_page, name="page"),
    path("<str:token>/live/", link_live, name="live"),
    path("<str:token>/renew/", link_renew, name="renew"),
    path("<str:token>/confirm/", link_confirm, name="confirm"),
]
