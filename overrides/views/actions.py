"""Back-office actions are forms posted to URLs of their own; a person may still open such a URL
(a reload, a new tab, a pasted link). Opening it leads to the page the action belongs to, never
to the browser's bare "405"."""

from functools import wraps

from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect


def post_action(page):
    """Run the view for a POST; for a GET (or HEAD) redirect to `page(request, **kwargs)`, the
    URL of the page the action is taken on (it may raise Http404 for what the person may not see)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST":
                return view(request, *args, **kwargs)
            if request.method in ("GET", "HEAD"):
                return redirect(page(request, *args, **kwargs))
            return HttpResponseNotAllowed(["POST"])

        return wrapped

    return decorator
