"""The site's front door: `/` leads a back-office person to the back office and a customer to
the portal (when one is installed); the API documentation is linked from there, not the start."""

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
