"""The site's front door: `/` leads a back-office person to the back office and a customer to
the portal (when one is installed); the API documentation is linked from there, not the start."""

from functools import wraps

from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse


def home(request):
    user = request.user
    if user.is_authenticated and not user.has_perm("orders.view_order"):
        try:
            return redirect(reverse("portal:home"))
        except NoReverseMatch:
            pass
    return redirect("backoffice:queue")


def favicon(request):
    # Browsers ask for /favicon.ico whatever the page says; the icon is a static SVG.
    return redirect(static("favicon.svg"), permanent=True)


# The API documentation pages run their bundles from the installed sidecar; this policy keeps the
# browser from fetching anything else (ReDoc's footer logo on a CDN, web fonts).
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self' 'unsafe-inline' blob:",
        "worker-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
    ]
)


def fetching_only_from_here(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return wrapped
