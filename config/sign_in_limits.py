"""Failed sign-ins, limited: per account name from one network (SIGN_IN_FAILURES_PER_ACCOUNT) and
per network (SIGN_IN_FAILURES_PER_NETWORK) in fixed windows of SIGN_IN_WINDOW_SECONDS, counted
in the cache (shared by every process with Redis; each process its own with the embedded
local-memory cache). Past a limit the password is not checked at all: a burst of guesses costs no password
hashing (hundreds of milliseconds each), so it cannot fill the web threads that serve everyone
else, and the sign-in pages say to wait (429). The same person from another network is not
locked out by someone guessing their password elsewhere. Every way in is covered: the portal's,
the back office's and the admin's sign-in pages and the API's HTTP Basic (all go through
config.auth.ModelBackend; the API answers 429 too, config.api_auth). A successful sign-in clears its account's count.

A client counts by its network (config.client_networks: an IPv4 address, an IPv6 /64)."""

import contextlib
import hashlib
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache, caches
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from config.client_networks import rate_limited_network
from orders.caching import CACHE_ERRORS

TOO_MANY = _("Too many failed sign-ins from your network. Wait a few minutes, then try again.")


def sign_in_refused(request, username: str) -> bool:
    """Whether this attempt is refused unchecked (a limit reached); marks the request so that
    its form says so. Without a request (a script, a test) nothing is limited."""
    if request is None:
        return False
    keys = _keys(request, username)
    try:
        counts = cache.get_many(keys)
    except CACHE_ERRORS:  # the cache is down: sign-ins still work, unlimited
        return False
    refused = counts.get(keys[0], 0) >= settings.SIGN_IN_FAILURES_PER_ACCOUNT or (
        len(keys) > 1 and counts.get(keys[1], 0) >= settings.SIGN_IN_FAILURES_PER_NETWORK
    )
    if refused:
        request.sign_in_refused = True
    return refused


def retry_after_seconds() -> int:
    """Seconds until the current window ends (and its counts with it)."""
    window = settings.SIGN_IN_WINDOW_SECONDS
    return max(1, int(window - time.time() % window))


def _failed(sender, credentials, request=None, **kwargs) -> None:
    if request is None or getattr(request, "sign_in_refused", False):
        return
    keys = _keys(request, credentials.get("username", ""))
    with contextlib.suppress(*CACHE_ERRORS):
        backend = caches["default"]
        if hasattr(backend, "incr_expiring"):  # Redis (config.cache): counted and expiring at once
            backend.incr_expiring(keys, settings.SIGN_IN_WINDOW_SECONDS)
            return
        for key in keys:
            if not cache.add(key, 1, timeout=settings.SIGN_IN_WINDOW_SECONDS):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=settings.SIGN_IN_WINDOW_SECONDS)


def _succeeded(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    with contextlib.suppress(*CACHE_ERRORS):
        cache.delete(_keys(request, user.get_username())[0])


def _keys(request, username: str) -> list[str]:
    """[the account name from this network, the network], in the current window; without a
    client address (a server on a unix socket with no proxy headers) the account name alone:
    one shared bucket would let anyone lock everyone out."""
    window = int(time.time() // settings.SIGN_IN_WINDOW_SECONDS)
    network = rate_limited_network(request.META.get("REMOTE_ADDR", ""))
    account = hashlib.sha256(f"{username.strip().lower()}|{network}".encode()).hexdigest()[:32]
    keys = [f"sign-in-failures:account:{account}:{window}"]
    if network:
        keys.append(f"sign-in-failures:network:{network}:{window}")
    return keys


def connect() -> None:
    user_login_failed.connect(_failed, dispatch_uid="sign-in-limits-failed")
    user_logged_in.connect(_succeeded, dispatch_uid="sign-in-limits-succeeded")


class RefusedSignInForm:
    """Mixin for an AuthenticationForm: a refused attempt says to wait, not that the password
    was wrong."""

    def get_invalid_login_error(self):
        if getattr(self.request, "sign_in_refused", False):
            return ValidationError(TOO_MANY, code="sign_in_refused")
        return super().get_invalid_login_error()


class RefusedSignInView:
    """Mixin for a LoginView: a refused attempt answers 429."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(self.request, "sign_in_refused", False):
            response.status_code = 429
            response["Retry-After"] = str(retry_after_seconds())
        return response


class SignInForm(RefusedSignInForm, AuthenticationForm):
    pass


class LoginView(RefusedSignInView, auth_views.LoginView):
    """Django's sign-in page, saying when to wait (the portal's and the back office's)."""

    authentication_form = SignInForm
