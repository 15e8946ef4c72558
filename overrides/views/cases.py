"""Back-office actions on open cases: acknowledge a stale alert, take or resolve a discrepancy.
Each answers with a redirect to the line, and a message saying what happened or why not."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _

from orders.scoping import lines_visible_to
from overrides.models import Discrepancy, StaleAlert
from overrides.services.alerts import stale_alert_acknowledge
from overrides.services.discrepancies import discrepancy_resolve, discrepancy_take
from overrides.views.actions import post_action


def _alert_line(request, pk: int) -> str:
    alert = get_object_or_404(StaleAlert.objects.filter(line__in=lines_visible_to(request.user)), pk=pk)
    return reverse("backoffice:line", args=[alert.line_id])


def _discrepancy_line(request, pk: int) -> str:
    discrepancy = get_object_or_404(Discrepancy.objects.filter(line__in=lines_visible_to(request.user)), pk=pk)
    return reverse("backoffice:line", args=[discrepancy.line_id])


@login_required
@post_action(_alert_line)
def alert_acknowledge(request, pk: int):
    try:
        alert = stale_alert_acknowledge(alert_id=pk, user=request.user)
    except ObjectDoesNotExist as missing:
        raise Http404 from missing
    messages.success(request, _("Alert acknowledged: it escalates no further."))
    return redirect("backoffice:line", pk=alert.line_id)


@login_required
@post_action(_discrepancy_line)
def discrepancy_take_view(request, pk: int):
    try:
        discrepancy = discrepancy_take(discrepancy_id=pk, user=request.user)
    except ObjectDoesNotExist as missing:
        raise Http404 from missing
    except ValidationError as error:
        return _refused(request, error, line_id=None)
    messages.success(request, _("You own this discrepancy now."))
    return redirect("backoffice:line", pk=discrepancy.line_id)


@login_required
@post_action(_discrepancy_line)
def discrepancy_resolve_view(request, pk: int):
    line_id = request.POST.get("line")
    try:
        discrepancy = discrepancy_resolve(
            discrepancy_id=pk, user=request.user, resolution=request.POST.get("resolution", "")
        )
    except ObjectDoesNotExist as missing:
        raise Http404 from missing
    except ValidationError as error:
        return _refused(request, error, line_id=line_id)
    messages.success(request, _("Discrepancy resolved."))
    return redirect("backoffice:line", pk=discrepancy.line_id)


def _refused(request, error: ValidationError, *, line_id):
    for text in error.messages:
        messages.error(request, text)
    return (
        redirect("backoffice:line", pk=line_id) if line_id and str(line_id).isdigit() else redirect("backoffice:queue")
    )


urlpatterns = [
    path("alerts/<int:pk>/acknowledge/", alert_acknowledge, name="alert_acknowledge"),
    path("discrepancies/<int:pk>/take/", discrepancy_take_view, name="discrepancy_take"),
    path("discrepancies/<int:pk>/resolve/", discrepancy_resolve_view, name="discrepancy_resolve"),
]
