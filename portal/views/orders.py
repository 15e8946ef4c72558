"""The customer and dealer portal: search and list the orders of one's accounts, an order's
page in customer labels (live), and the order's status links."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from orders.models import Order, OrderLine
from orders.read_models import Audience, localize_change, order_view
from orders.read_models.cache import view_version
from orders.read_models.presentation import customer_labels, customer_summary, expected_present
from orders.scoping import orders_visible_to_customer
from orders.status import customer_status
from portal.branding import account_branding
from portal.forms import LinkIssueForm
from portal.live_times import with_time_texts
from portal.models import LinkAudience, LinkPurpose, StatusLink
from portal.page_cache import LIST_PAGE_PARAMETER, page_render
from portal.selectors import (
    customer_link,
    customer_link_row,
    customer_link_rows,
    links_pages,
    order_rows,
    portal_accounts,
    portal_order,
    portal_order_seen,
    portal_orders,
    views_with_hidden_changes,
)
from portal.services.links import status_link_issue, status_link_revoke, status_link_rotate
from portal.views.common import order_page_context, order_page_key

LOGIN = "portal:login"
PAGE_SIZE = 25


@require_safe
@login_required(login_url=LOGIN)
def order_list(request):
    query = request.GET.get("q", "")[:100]
    if "\x00" in query:  # no database stores it: a 400 that names the search, not a 500
        empty = Paginator(Order.objects.none(), PAGE_SIZE).get_page(1)
        context = {
            "page": empty,
            "rows": [],
            "query": "",
            "query_error": _("The search holds a character not allowed."),
        }
        return render(request, "portal/order_list.html", context, status=400)
    accounts = portal_accounts(request.user)
    account = request.GET.get("account", "")[:30] if accounts else ""
    orders = portal_orders(request.user, query=query, account=account)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    if query and page.paginator.count == 1:
        return redirect("portal:order", public_id=page.object_list[0].public_id)
    labels = customer_labels()
    listed = order_rows(list(page.object_list))
    views = views_with_hidden_changes(list(page.object_list))
    rows = []
    for order in page.object_list:
        # An order with a change hidden from customers: the row says what its page says.
        view = views.get(order.pk)
        status = view["order"]["status"] if view else customer_status(order.status)
        rows.append(
            {
                "order": order,
                "summary": customer_summary(view["counts"] if view else listed[order.pk]["counts"], labels),
                "expected": expected_present(view["order"] if view else listed[order.pk]["expected"]),
                "label": labels[status]["label"],
                "progress": view["order"]["progress"] if view else order.progress_percent,
            }
        )
    context = {"page": page, "rows": rows, "query": query, "accounts": accounts, "account": account}
    return render(request, "portal/order_list.html", context)


def _order_for(user, public_id):
    """The order if the person sees it (else 404), with its view's version and whether the person
    reads it as a dealer: one query."""
    order = portal_order(user, public_id)
    if order is None:
        raise Http404
    return order


@login_required(login_url=LOGIN)
def order_detail(request, public_id):
    seen = portal_order_seen(request.user, public_id)
    if seen is None:
        raise Http404
    order = SimpleLazyObject(seen.order)  # read whole only when the page is rendered
    pages = links_pages(seen.links_count)
    links_page = _links_page_asked(request, pages)

    def context() -> dict:
        return {
            **order_page_context(request, order, audience=Audience.CUSTOMER),
            **_live_paths(seen),
            "brand": account_branding(seen.account_id),
            "dealer_view": seen.dealer_view,
            "link_form": LinkIssueForm(),
            "link_rows": customer_link_rows(seen.pk, page=links_page, viewer_id=request.user.pk, now=timezone.now()),
            "links_pager": _links_pager(request, links_page, pages),
            "new_link_url": "",
        }

    if request.method == "POST":
        return _link_issue(request, seen.order(), context())
    new_link_url = _new_link_pop(request, seen)
    if new_link_url:  # shown once: never kept in a cached page
        return render(request, "portal/order.html", {**context(), "new_link_url": new_link_url})
    user = request.user
    parts = (
        "portal-order",
        order_page_key(request, seen.public_id, view_version(seen), audience=Audience.CUSTOMER),
        seen.dealer_view,
        user.pk,
        user.get_username(),
        user.get_full_name(),
        seen.account_id,
        seen.links_stamp,
        seen.brand_stamp,
    )
    return page_render(request, "portal/order.html", context, parts=parts, list_pages=pages)


# A link just made waits here for the order page the action redirects to (post/redirect/get: a
# reload or a language switch afterwards repeats nothing) and is shown there once.
NEW_LINK_SESSION_KEY = "portal-new-status-link"


def _new_link_keep(request, order, issued) -> None:
    request.session[NEW_LINK_SESSION_KEY] = {
        "order": str(order.public_id),
        "url": request.build_absolute_uri(issued.path),
    }


def _new_link_pop(request, order) -> str:
    new = request.session.get(NEW_LINK_SESSION_KEY)
    if not new or new.get("order") != str(order.public_id):
        return ""
    del request.session[NEW_LINK_SESSION_KEY]
    return new.get("url", "")


def _to_links(order, links_page: int = 1):
    query = f"?{LIST_PAGE_PARAMETER}={links_page}" if links_page > 1 else ""
    return redirect(reverse("portal:order", kwargs={"public_id": order.public_id}) + query + "#status-links")


def _links_page_asked(request, pages: int) -> int:
    """The page of the list of links asked for: the first when none or nonsense is, the last
    when one past it is (a link revoked elsewhere)."""
    try:
        number = int(request.GET.get(LIST_PAGE_PARAMETER, "1"))
    except ValueError:
        return 1
    return min(max(number, 1), pages)


def _links_pager(request, number: int, pages: int) -> dict:
    """Where the pager's links go: the same page at another page of links, keeping the timeline
    asked for and nothing else (written as portal.page_cache caches it)."""

    def url(page: int) -> str:
        query = ["timeline=all"] if request.GET.get("timeline") == "all" else []
        if page > 1:
            query.append(f"{LIST_PAGE_PARAMETER}={page}")
        return request.path + ("?" + "&".join(query) if query else "") + "#status-links"

    return {
        "number": number,
        "pages": pages,
        "previous_url": url(number - 1) if number > 1 else "",
        "next_url": url(number + 1) if number < pages else "",
    }


def _live_paths(order) -> dict:
    return {
        "ws_path": f"/ws/portal/orders/{order.public_id}/",
        "live_url": reverse("portal:order-live", kwargs={"public_id": order.public_id}),
    }


def _link_issue(request, order, context):
    form = LinkIssueForm(request.POST)
    line = None
    if form.is_valid() and form.cleaned_data["line"]:
        line = OrderLine.objects.filter(order=order, number=form.cleaned_data["line"]).first()
        if line is None:
            form.add_error("line", _("This order has no line %(number)s.") % {"number": form.cleaned_data["line"]})
    if form.is_valid():
        try:
            issued = status_link_issue(
                order=order,
                line=line,
                audience=LinkAudience.CUSTOMER,
                purpose=LinkPurpose.VIEW,
                issued_by=request.user,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            # Shown once, on the order page: the token is kept nowhere after that.
            _new_link_keep(request, order, issued)
            return _to_links(order)
    context.update(link_form=form)
    return render(request, "portal/order.html", context, status=400)


def _link_for(user, public_id) -> StatusLink:
    """A customer link of an order the person sees; a technician's link is a 404 here: rotating
    it would hand the person a token that shows and confirms more than they may."""
    link = customer_link(public_id)
    if link is None or not orders_visible_to_customer(user).filter(pk=link.order_id).exists():
        raise Http404
    return link


@require_POST
@login_required(login_url=LOGIN)
def link_revoke(request, public_id):
    link = _link_for(request.user, public_id)
    try:  # back to the page of links the person was reading
        links_page = min(max(int(request.POST.get(LIST_PAGE_PARAMETER, "1")), 1), 10_000)
    except ValueError:
        links_page = 1
    # Unconfirmed, revoking asks first: on a page naming the link (without JavaScript; the order
    # page's dialog asks otherwise, static/js/link-revoke.js), as the back office's revocations do.
    if request.POST.get("confirmed") != "1":
        if not link.is_usable():  # revoked, replaced or expired meanwhile: nothing to ask
            return _to_links(link.order, links_page)
        context = {
            "brand": account_branding(link.order.account_id),
            "row": customer_link_row(link, viewer_id=request.user.pk, now=timezone.now()),
            "order_obj": link.order,
            "links_page": links_page,
            "back_url": _to_links(link.order, links_page).url,
        }
        response = render(request, "portal/link_revoke_confirm.html", context)
        response["Cache-Control"] = "private, no-store"
        return response
    status_link_revoke(link=link, revoked_by=request.user)
    return _to_links(link.order, links_page)


@require_POST
@login_required(login_url=LOGIN)
def link_rotate(request, public_id):
    link = _link_for(request.user, public_id)
    if link.revoked_at is None and link.replaced_by_id is None:
        _new_link_keep(request, link.order, status_link_rotate(link=link, rotated_by=request.user))
    return _to_links(link.order)


@require_safe
@login_required(login_url=LOGIN)
def order_live(request, public_id):
    """Polling fallback of the websocket: the state when the order moved past `since`."""
    order = _order_for(request.user, public_id)
    return live_answer(request, order, audience=Audience.CUSTOMER)


def live_answer(request, order, *, audience: str, narrow=None) -> JsonResponse:
    try:
        since = int(request.GET.get("since", ""))
    except ValueError:
        since = None
    if since == order.outbox_sequence:
        return JsonResponse({"sequence": since})
    view = order_view(order, audience=audience)
    if narrow is not None:
        view = narrow(view)
    change = localize_change({"sequence": view["order"]["sequence"], "state": view}, customer_labels())
    change = with_time_texts(change, language=get_language(), zone=timezone.get_current_timezone_name())
    response = JsonResponse(change)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("", order_list, name="orders"),
    path("orders/<uuid:public_id>/", order_detail, name="order"),
    path("orders/<uuid:public_id>/live/", order_live, name="order-live"),
    path("links/<uuid:public_id>/revoke/", link_revoke, name="link-revoke"),
    path("links/<uuid:public_id>/rotate/", link_rotate, name="link-rotate"),
]
