"""Back-office actions on an order's status links: revoke one (after a page that names it asks),
or replace it (a new address; the old one stops working). Both go through the portal's link
services; who did it is kept on the link.

The new link is shown once, on the order page the action redirects to (post/redirect/get): it
waits in the session until that page is shown, and is removed from it there."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from orders.scoping import orders_visible_to
from overrides.views.actions import post_action
from portal.models import StatusLink
from portal.selectors import links_listed
from portal.services.links import status_link_revoke, status_link_rotate

NEW_LINK_SESSION_KEY = "backoffice-new-status-link"
ENDED_LINKS_SHOWN = 50  # revoked, replaced or expired: the older ones are left out
# A fleet's order may hold thousands of working links: the table shows them a page at a time.
LINKS_PAGE_SIZE = 100
LINKS_PAGE_PARAMETER = "links_page"


@dataclass(frozen=True)
class OrderLinks:
    links: list[StatusLink]
    ended_hidden: bool  # older revoked, replaced or expired links are not listed
    page: Page | None = None  # the page of the list shown (None: nothing to list)
    ended_shown: int = ENDED_LINKS_SHOWN


def order_links(user, order, page_asked=None) -> OrderLinks:
    """Page `page_asked` (the first when it is none or nonsense, the last when past it) of the
    order's links, newest first, a replaced link right after its successor (each with
    successor_public_id): every active one, and the newest ENDED_LINKS_SHOWN of the others (a
    link that still works is never crowded out by the ones its messages replaced); none for a
    person without the permission to see them. The same few queries however many links there are."""
    if not user.has_perm("portal.view_statuslink"):
        return OrderLinks(links=[], ended_hidden=False)
    listed = links_listed(StatusLink.objects.filter(order=order))
    active = Q(revoked_at__isnull=True, expires_at__gt=timezone.now())
    ended = list(listed.exclude(active).values_list("pk", flat=True)[: ENDED_LINKS_SHOWN + 1])
    shown = listed.filter(active | Q(pk__in=ended[:ENDED_LINKS_SHOWN]))
    shown = shown.select_related("line", "issued_by", "revoked_by", "expiry_changed_by")
    page = Paginator(shown, LINKS_PAGE_SIZE).get_page(page_asked)
    return OrderLinks(links=list(page), ended_hidden=len(ended) > ENDED_LINKS_SHOWN, page=page)


def order_links_url(order_id: int, links_page: int = 1) -> str:
    """The order's page at its status links, on page `links_page` of them."""
    query = f"?{LINKS_PAGE_PARAMETER}={links_page}" if links_page > 1 else ""
    return reverse("backoffice:order", args=[order_id]) + query + "#status-links"


def _links_page_asked(request) -> int:
    """The page of links the person was on (the order page goes back there): posted by the
    action's form, or in the query of the confirmation page's address."""
    data = request.POST if request.method == "POST" else request.GET
    try:
        return min(max(int(data.get(LINKS_PAGE_PARAMETER, "1")), 1), 1_000_000)
    except ValueError:
        return 1


def new_link_pop(request, order) -> str:
    """The address of a link just made for this order, once."""
    new = request.session.get(NEW_LINK_SESSION_KEY)
    if not new or new.get("order") != str(order.public_id):
        return ""
    del request.session[NEW_LINK_SESSION_KEY]
    return new.get("url", "")


def _link_for(user, public_id) -> StatusLink:
    """The link, when its order is in the person's scope (else 404, as if it did not exist)."""
    link = StatusLink.objects.filter(public_id=public_id).select_related("order__account", "line", "issued_by").first()
    if link is None or not orders_visible_to(user).filter(pk=link.order_id).exists():
        raise Http404
    return link


def _order_page(request, public_id) -> str:
    return order_links_url(_link_for(request.user, public_id).order_id)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
@permission_required("portal.change_statuslink", raise_exception=True)
def link_revoke(request, public_id):
    """Revoking cannot be undone: a GET (the address opened again, or pasted) and an unconfirmed
    POST show the page that names the link; only its confirmed POST revokes."""
    link = _link_for(request.user, public_id)
    links_page = _links_page_asked(request)
    back = order_links_url(link.order_id, links_page)
    confirmed = request.method == "POST" and request.POST.get("confirmed") == "1"
    if not confirmed and link.revoked_at is None:
        context = {"link": link, "now": timezone.now(), "links_page": links_page, "back_url": back}
        return render(request, "backoffice/link_revoke_confirm.html", context)
    if request.method == "POST":  # revoking a revoked link changes nothing
        status_link_revoke(link=link, revoked_by=request.user)
        messages.success(request, _("The link is revoked: it no longer opens the order."))
    else:  # the address of a link revoked before, opened again: this visit revoked nothing
        messages.info(request, _("This link was already revoked: it no longer opens the order."))
    return redirect(back)


@post_action(_order_page)
@login_required
@permission_required("portal.change_statuslink", raise_exception=True)
def link_rotate(request, public_id):
    link = _link_for(request.user, public_id)
    if link.revoked_at is not None or link.replaced_by_id is not None:
        messages.error(request, _("This link is revoked already: it cannot be replaced."))
    else:
        issued = status_link_rotate(link=link, rotated_by=request.user)
        request.session[NEW_LINK_SESSION_KEY] = {
            "order": str(link.order.public_id),
            "url": request.build_absolute_uri(issued.path),
        }
    return redirect(order_links_url(link.order_id, _links_page_asked(request)))


urlpatterns = [
    path("links/<uuid:public_id>/revoke/", link_revoke, name="link-revoke"),
    path("links/<uuid:public_id>/rotate/", link_rotate, name="link-rotate"),
]
