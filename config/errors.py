"""Error pages: under /api/ a path that names nothing is a JSON 404 like the API's own; the 500
page uses neither templates nor the database, so that it cannot fail in its turn."""

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": _("Server error.")}, status=500)
    return HttpResponse(_("Server error."), status=500, content_type="text/plain; charset=utf-8")
