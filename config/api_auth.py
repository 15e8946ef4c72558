"""The API's HTTP Basic: DRF's, except that a sign-in refused by config.sign_in_limits answers
429 with Retry-After (a client told "invalid username/password" would rotate good credentials)."""

from drf_spectacular import authentication as drf_spectacular_authentication
from rest_framework import authentication, exceptions

from config.sign_in_limits import retry_after_seconds


class BasicAuthentication(authentication.BasicAuthentication):
    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            if getattr(request, "sign_in_refused", False):
                raise exceptions.Throttled(wait=retry_after_seconds()) from None
            raise


class BasicScheme(drf_spectacular_authentication.BasicScheme):
    """The schema names it as DRF's (basicAuth)."""

    target_class = "config.api_auth.BasicAuthentication"
    priority = 0
