"""Back-office screen: who holds the sensitive powers, and the access reviews that certify or revoke them."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from overrides.forms_access import AccessDecisionForm
from overrides.models import AccessReview, AccessReviewItem
from overrides.services.access import (
    access_grants,
    access_power_label,
    access_review_decide,
    access_review_start,
    access_revocation_effect,
    access_via_label,
)
from overrides.views.actions import post_action

CSV_COLUMNS = ["user", "power", "via", "scope", "last_used_at", "decision", "decided_at"]


@login_required
@permission_required("overrides.view_accessreview", raise_exception=True)
def access_review_list(request):
    reviews = (
        AccessReview.objects.select_related("reviewer")
        .annotate(
            grants=Count("items"), pending=Count("items", filter=Q(items__decision=AccessReviewItem.Decision.PENDING))
        )
        .order_by("-created_at", "-pk")
    )
    context = {"grants": access_grants(), "reviews": reviews}
    return render(request, "backoffice/access_reviews.html", context)


@login_required
@permission_required("overrides.view_accessreview", raise_exception=True)
@post_action(lambda request: reverse("backoffice:access_reviews"))
def access_review_create(request):
    review = access_review_start(user=request.user)
    messages.success(request, _("Review started: %(count)d grants to review.") % {"count": review.items.count()})
    return redirect("backoffice:access_review", pk=review.pk)


@login_required
@permission_required("overrides.view_accessreview", raise_exception=True)
def access_review_detail(request, pk: int):
    review = get_object_or_404(AccessReview.objects.select_related("reviewer"), pk=pk)
    rows = [
        {"item": item, "power": access_power_label(item.power), "via": access_via_label(item.via)}
        for item in review.items.select_related("user")
    ]
    return render(request, "backoffice/access_review.html", {"review": review, "rows": rows})


@login_required
@permission_required("overrides.view_accessreview", raise_exception=True)
@post_action(lambda request, pk, item_pk: reverse("backoffice:access_review", args=[pk]))
def access_review_item_decide(request, pk: int, item_pk: int):
    item = get_object_or_404(AccessReviewItem.objects.select_related("user", "review"), pk=item_pk, review_id=pk)
    form = AccessDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Certify or revoke."))
        return redirect("backoffice:access_review", pk=pk)
    if form.cleaned_data["decision"] == AccessReviewItem.Decision.REVOKED and not request.POST.get("confirmed"):
        # Revoking can take more than this one grant away (a group, superuser status): say what, first.
        context = {
            "review": item.review,
            "item": item,
            "power": access_power_label(item.power),
            "effect": access_revocation_effect(item),
        }
        return render(request, "backoffice/access_revoke_confirm.html", context)
    try:
        access_review_decide(item_id=item.pk, user=request.user, decision=form.cleaned_data["decision"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("backoffice:access_review", pk=pk)


@login_required
@permission_required("overrides.view_accessreview", raise_exception=True)
def access_review_csv(request, pk: int):
    review = get_object_or_404(AccessReview, pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-review-{review.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for item in review.items.select_related("user"):
        writer.writerow(
            _spreadsheet_safe(value)
            for value in (
                item.user.get_username(),
                item.power,
                item.via,
                item.scope_text,
                _moment(item.last_used_at),
                item.decision,
                _moment(item.decided_at),
            )
        )
    return response


def _moment(value) -> str:
    """A time for a spreadsheet: ISO 8601 in the reader's time zone, its offset written out."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: keep it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


urlpatterns = [
    path("access-reviews/", access_review_list, name="access_reviews"),
    path("access-reviews/start/", access_review_create, name="access_review_start"),
    path("access-reviews/<int:pk>/", access_review_detail, name="access_review"),
    path("access-reviews/<int:pk>.csv", access_review_csv, name="access_review_csv"),
    path("access-reviews/<int:pk>/items/<int:item_pk>/", access_review_item_decide, name="access_review_decide"),
]
