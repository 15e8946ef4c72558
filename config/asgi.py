"""ASGI entry point: HTTP through Django's WSGI handler on a fixed pool of threads per process
(config.http_threads, WEB_THREADS), websockets through the Channels routes of the apps."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry ready)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from config.http_threads import ThreadPoolHTTP  # noqa: E402
from orders.routing import websocket_urlpatterns  # noqa: E402
from overrides.routing import websocket_urlpatterns as backoffice_websocket_urlpatterns  # noqa: E402
from portal.routing import websocket_urlpatterns as portal_websocket_urlpatterns  # noqa: E402

routes = [*websocket_urlpatterns, *portal_websocket_urlpatterns, *backoffice_websocket_urlpatterns]
http = ThreadPoolHTTP(django_wsgi_app, threads=settings.WEB_THREADS)
# In DEBUG, static files as runserver serves them (in production, the proxy does).
http_served = ASGIStaticFilesHandler(http) if settings.DEBUG else http
application = ProtocolTypeRouter(
    {
        "http": http_served,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(routes))),
    }
)
