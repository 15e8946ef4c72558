"""Error pages: under /api/ a path that names nothing is a JSON 404 like the API's own; a refusal
in the back office is its styled, translated "not allowed" page with the reason and a way back;
a page that names nothing is the portal's branded, translated 404 (revealing nothing); the 500
page is a static template (no context, no database), plain text should even that fail."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
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
    # Branded and translated (the viewer's or the OEM's brand), naming neither the path nor why.
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _("Server error.")}, status=500)
    try:
        # Template engine only: no request context, no database.
        return HttpResponse(render_to_string("500.html"), status=500)
    except (OSError, TemplateDoesNotExist, TemplateSyntaxError):
        return HttpResponse(_("Server error."), status=500, content_type="text/plain; charset=utf-8")
