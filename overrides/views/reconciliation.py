"""Back-office screen: reconciliation runs after an outage, and applying their corrections."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.scoping import lines_visible_to
from overrides.forms_reconciliation import ReconciliationApplyForm, ReconciliationStartForm
from overrides.models import ReconciliationRun
from overrides.services.reconciliation import (
    reconciliation_items_visible_to,
    reconciliation_run_apply,
    reconciliation_run_create,
    reconciliation_run_discard,
    reconciliation_run_may_apply,
    reconciliation_run_may_discard,
)
from overrides.views.actions import post_action

RUNS_PER_PAGE = 50


@login_required
@permission_required("overrides.view_reconciliationrun", raise_exception=True)
def reconciliation_list(request):
    form = ReconciliationStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            run = reconciliation_run_create(
                source_code=form.cleaned_data["source"].code,
                since=form.cleaned_data["since"],
                until=form.cleaned_data["until"],
                user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _tally_message(run))
            return redirect("backoffice:reconciliation", pk=run.pk)
    runs = (
        ReconciliationRun.objects.select_related("created_by", "applied_by")
        .annotate(mismatches=Count("items", filter=Q(items__line__in=lines_visible_to(request.user))))
        .order_by("-created_at", "-pk")
    )
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "backoffice/reconciliation_list.html", {"form": form, "page": page})


@login_required
@permission_required("overrides.view_reconciliationrun", raise_exception=True)
def reconciliation_detail(request, pk: int):
    run = get_object_or_404(ReconciliationRun.objects.select_related("created_by", "applied_by"), pk=pk)
    items = reconciliation_items_visible_to(request.user, run).select_related("line__order", "line__part")
    context = {
        "run": run,
        "items": items,
        "may_apply": reconciliation_run_may_apply(run=run, user=request.user),
        "may_discard": reconciliation_run_may_discard(run=run, user=request.user),
    }
    return render(request, "backoffice/reconciliation_detail.html", context)


def _run_page(request, pk: int) -> str:
    return reverse("backoffice:reconciliation", args=[pk])


@login_required
@permission_required("overrides.view_reconciliationrun", raise_exception=True)
@post_action(_run_page)
@permission_required("overrides.apply_reconciliationrun", raise_exception=True)
def reconciliation_apply(request, pk: int):
    run = get_object_or_404(ReconciliationRun, pk=pk)
    form = ReconciliationApplyForm(
        request.POST, pending_items=reconciliation_items_visible_to(request.user, run).filter(applied=False)
    )
    if not form.is_valid():
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
        return redirect("backoffice:reconciliation", pk=run.pk)
    chosen = [item.pk for item in form.cleaned_data["items"]]
    try:
        reconciliation_run_apply(run_id=run.pk, user=request.user, item_ids=chosen)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            ngettext("%(count)d correction applied.", "%(count)d corrections applied.", len(chosen))
            % {"count": len(chosen)},
        )
    return redirect("backoffice:reconciliation", pk=run.pk)


@login_required
@permission_required("overrides.view_reconciliationrun", raise_exception=True)
@post_action(_run_page)
def reconciliation_discard(request, pk: int):
    run = get_object_or_404(ReconciliationRun, pk=pk)
    try:
        reconciliation_run_discard(run_id=run.pk, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The reconciliation was discarded; nothing was changed."))
    return redirect("backoffice:reconciliation", pk=run.pk)


def _tally_message(run: ReconciliationRun) -> str:
    tally = run.tally
    return _(
        "Read %(messages)d messages: the facts the lines never recorded would change %(mismatches)d lines. "
        "Skipped %(codes)d messages with an unknown code, %(lines)d about unknown or ambiguous lines, "
        "%(future)d dated too far ahead, %(partials)d partial confirmations of lines not split yet (replay those) "
        "and %(unreadable)d unreadable messages."
    ) % {
        "messages": run.messages_read,
        "mismatches": run.items.count(),
        "codes": tally.unknown_codes,
        "lines": tally.unknown_lines,
        "future": tally.future_messages,
        "partials": tally.partials,
        "unreadable": tally.unreadable_messages,
    }


urlpatterns = [
    path("reconciliations/", reconciliation_list, name="reconciliations"),
    path("reconciliations/<int:pk>/", reconciliation_detail, name="reconciliation"),
    path("reconciliations/<int:pk>/apply/", reconciliation_apply, name="reconciliation_apply"),
    path("reconciliations/<int:pk>/discard/", reconciliation_discard, name="reconciliation_discard"),
]
