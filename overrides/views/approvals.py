"""Back-office screen: the approvals queue, where a second person approves or rejects an override."""

from pathlib import PurePath

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from orders.models import OrderLine
from overrides.forms import DecisionForm, add_service_errors
from overrides.models import OverrideRequest
from overrides.selectors import conflicting_requests, override_requests_visible_to, pending_requests_on_lines
from overrides.services.requests import (
    override_request_approve,
    override_request_preview,
    override_request_reject,
    override_request_withdraw,
)

RECENT_DECISIONS = 25


@login_required
@permission_required("overrides.view_overriderequest", raise_exception=True)
def approval_queue(request):
    return _approvals_page(request)


@login_required
@permission_required("overrides.view_overriderequest", raise_exception=True)
def request_decide(request, pk: int, decision: str):
    if request.method in ("GET", "HEAD"):
        # Reloading the preview (or opening a decision's URL): what approving does now, or the
        # request in the approvals queue.
        if decision == "approve":
            return _preview_page(request, pk, DecisionForm({}))
        get_object_or_404(override_requests_visible_to(request.user), pk=pk)
        return redirect(reverse("backoffice:approvals") + f"#request-{pk}")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = DecisionForm(request.POST)
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if decision == "approve" and not form.cleaned_data["seen"]:
                # First what approving would do to the lines as they are now; the approver confirms.
                return _preview_page(request, pk, form)
            if decision == "approve":
                override_request_approve(request_id=pk, user=request.user, note=note, seen=form.cleaned_data["seen"])
                done = _("Request #%(id)s approved and applied.")
            elif decision == "reject":
                override_request_reject(request_id=pk, user=request.user, note=note)
                done = _("Request #%(id)s rejected.")
            else:
                override_request_withdraw(request_id=pk, user=request.user)
                done = _("Your request #%(id)s is withdrawn.")
        except PermissionDenied as refusal:
            return render(request, "backoffice/forbidden.html", {"message": str(refusal)}, status=403)
        except ObjectDoesNotExist as missing:
            raise Http404 from missing
        except ValidationError as error:
            if decision == "approve" and form.cleaned_data["seen"] and "state" in getattr(error, "error_dict", {}):
                # The line moved while the approver looked: show what approving does now.
                still_pending = override_requests_visible_to(request.user).filter(
                    pk=pk, state=OverrideRequest.State.PENDING
                )
                if still_pending.exists():
                    messages.error(request, " ".join(error.messages))
                    return _preview_page(request, pk, DecisionForm({"note": note}))
            add_service_errors(form, error)
        else:
            messages.success(request, done % {"id": pk})
            return redirect("backoffice:approvals")
    return _approvals_page(request, failed_id=pk, failed_form=form)


def _preview_page(request, pk: int, form: DecisionForm):
    try:
        preview = override_request_preview(request_id=pk, user=request.user)
    except PermissionDenied as refusal:
        return render(request, "backoffice/forbidden.html", {"message": str(refusal)}, status=403)
    except ObjectDoesNotExist as missing:
        raise Http404 from missing
    if preview.request.state != OverrideRequest.State.PENDING:
        messages.error(request, _("This request has already been decided."))
        return redirect("backoffice:approvals")
    others = pending_requests_on_lines(request.user, [line.line.pk for line in preview.lines], exclude_id=pk)
    context = {
        "preview": preview,
        "override": preview.request,
        "note": form.data.get("note", ""),
        "conflicts": others.select_related("requested_by"),
    }
    return render(request, "backoffice/approval_preview.html", context)


@login_required
@permission_required("overrides.view_overriderequest", raise_exception=True)
def request_evidence(request, pk: int):
    """The evidence file, only to those who may see the request (media files are not public)."""
    override = get_object_or_404(override_requests_visible_to(request.user).exclude(evidence=""), pk=pk)
    try:
        evidence = override.evidence.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    return FileResponse(evidence, as_attachment=True, filename=PurePath(override.evidence.name).name)


def _approvals_page(request, *, failed_id: int | None = None, failed_form: DecisionForm | None = None):
    lines = Prefetch("lines", queryset=OrderLine.objects.select_related("order", "part").order_by("order_id", "number"))
    visible = (
        override_requests_visible_to(request.user)
        .select_related("reason", "requested_by", "decided_by", "event")
        .prefetch_related(lines)
    )
    pending = list(visible.filter(state=OverrideRequest.State.PENDING).order_by("requested_at"))
    conflicts = conflicting_requests(pending)
    for override in pending:
        override.conflicts = conflicts.get(override.pk, [])
    # Errors about a request no longer pending (decided in another tab) have no row to sit on.
    detached = failed_form is not None and failed_id not in {override.pk for override in pending}
    context = {
        "pending": pending,
        "recent": visible.exclude(state=OverrideRequest.State.PENDING)
        .filter(decided_at__isnull=False)
        .order_by("-decided_at")[:RECENT_DECISIONS],
        "failed_id": failed_id,
        "failed_form": failed_form,
        "detached_errors": failed_form if detached else None,
    }
    return render(request, "backoffice/approvals.html", context)


urlpatterns = [
    path("approvals/", approval_queue, name="approvals"),
    path("approvals/<int:pk>/approve/", request_decide, {"decision": "approve"}, name="approve"),
    path("approvals/<int:pk>/reject/", request_decide, {"decision": "reject"}, name="reject"),
    path("approvals/<int:pk>/withdraw/", request_decide, {"decision": "withdraw"}, name="withdraw"),
    path("approvals/<int:pk>/evidence/", request_evidence, name="evidence"),
]
