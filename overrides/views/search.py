"""Back-office search, in the header of every page: an exact hit opens its page directly."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.urls import path

from orders.scoping import orders_visible_to
from orders.selectors import order_search, search_target
from overrides.forms import SearchForm


@login_required
@permission_required("orders.view_order", raise_exception=True)
def search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        shown = request.GET.get("q", "").replace("\x00", "")[: SearchForm.MAX_LENGTH]
        status = 200 if "q" not in request.GET or not shown.strip() else 400
        return render(request, "backoffice/search.html", {"form": form, "search_query": shown}, status=status)
    query = form.cleaned_data["q"]
    hits = order_search(query, orders_visible_to(request.user))
    target = search_target(hits)
    if target is not None:
        order, line = target
        return redirect("backoffice:line", pk=line.pk) if line else redirect("backoffice:order", pk=order.pk)
    return render(request, "backoffice/search.html", {"form": form, "search_query": query, "hits": hits})


urlpatterns = [path("search/", search, name="search")]
