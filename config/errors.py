"""Error pages: under /api/ a path that names nothing is a JSON 404 like the API's own; a refusal
in the back office is its styled, translated "not allowed" page with the reason and a way back;
the 500 page uses neither templates nor the database, so that it cannot fail in its turn."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

BACK_OFFICE = "/backoffice/"


def permission_denied(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("You do not have permission to perform this action.")}, status=403)
    if request.path.startswith(BACK_OFFICE):
        reason = str(exception) if exception is not None and str(exception) else ""
        return render(request, "backoffice/forbidden.html", {"message": reason}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _("Server error.")}, status=500)
    return HttpResponse(_("Server error."), status=500, content_type="text/plain; charset=utf-8")
