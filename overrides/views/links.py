"""Back-office actions on an order's status links: revoke one (after a page that names it asks),
or replace it (a new address; the old one stops working). Both go through the portal's link
services; who did it is kept on the link.

The new link is shown once, on the order page the action redirects to (post/redirect/get): it
waits in the session until that page is shown, and is removed from it there."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.scoping import orders_visible_to
from overrides.views.actions import post_action
from portal.models import StatusLink
from portal.selectors import links_listed
from portal.services.links import status_link_revoke, status_link_rotate

NEW_LINK_SESSION_KEY = "backoffice-new-status-link"
ENDED_LINKS_SHOWN = 50  # revoked, replaced or expired: the older ones are left out


@dataclass(frozen=True)
class OrderLinks:
    links: list[StatusLink]
    ended_hidden: bool  # older revoked, replaced or expired links are not listed
    ended_shown: int = ENDED_LINKS_SHOWN


def order_links(user, order) -> OrderLinks:
    """The order's links, newest first, a replaced link right after its successor (each with
    successor_public_id): every active one, and the newest ENDED_LINKS_SHOWN of the others (a
    link that still works is never crowded out by the ones its messages replaced); none for a
    person without the permission to see them."""
    if not user.has_perm("portal.view_statuslink"):
        return OrderLinks(links=[], ended_hidden=False)
    listed = links_listed(StatusLink.objects.filter(order=order))
    active = Q(revoked_at__isnull=True, expires_at__gt=timezone.now())
    ended = list(listed.exclude(active).values_list("pk", flat=True)[: ENDED_LINKS_SHOWN + 1])
    shown = listed.filter(active | Q(pk__in=ended[:ENDED_LINKS_SHOWN]))
    links = list(shown.select_related("line", "issued_by", "revoked_by", "expiry_changed_by"))
    return OrderLinks(links=links, ended_hidden=len(ended) > ENDED_LINKS_SHOWN)


def new_link_pop(request, order) -> str:
    """The address of a link just made for this order, once."""
    new = request.session.get(NEW_LINK_SESSION_KEY)
    if not new or new.get("order") != str(order.public_id):
        return ""
    del request.session[NEW_LINK_SESSION_KEY]
    return new.get("url", "")


def _link_for(user, public_id) -> StatusLink:
    """The link, when its order is in the person's scope (else 404, as if it did not exist)."""
    link = StatusLink.objects.filter(public_id=public_id).select_related("order", "line", "issued_by").first()
    if link is None or not orders_visible_to(user).filter(pk=link.order_id).exists():
        raise Http404
    return link


def _order_page(request, public_id) -> str:
    return reverse("backoffice:order", args=[_link_for(request.user, public_id).order_id]) + "#status-links"


@post_action(_order_page)
@login_required
@permission_required("portal.change_statuslink", raise_exception=True)
def link_revoke(request, public_id):
    link = _link_for(request.user, public_id)
    if request.POST.get("confirmed") != "1" and link.revoked_at is None:
        # Revoking cannot be undone: say which link, first.
        return render(request, "backoffice/link_revoke_confirm.html", {"link": link, "now": timezone.now()})
    status_link_revoke(link=link, revoked_by=request.user)
    messages.success(request, _("The link is revoked: it no longer opens the order."))
    return redirect(reverse("backoffice:order", args=[link.order_id]) + "#status-links")


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
    return redirect(reverse("backoffice:order", args=[link.order_id]) + "#status-links")


urlpatterns = [
    path("links/<uuid:public_id>/revoke/", link_revoke, name="link-revoke"),
    path("links/<uuid:public_id>/rotate/", link_rotate, name="link-rotate"),
]
