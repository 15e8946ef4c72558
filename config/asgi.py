"""ASGI entry point: HTTP through Django, websockets through the Channels routes of the apps."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry ready)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from orders.routing import websocket_urlpatterns  # noqa: E402
from overrides.routing import websocket_urlpatterns as backoffice_websocket_urlpatterns  # noqa: E402
from portal.routing import websocket_urlpatterns as portal_websocket_urlpatterns  # noqa: E402

routes = [*websocket_urlpatterns, *portal_websocket_urlpatterns, *backoffice_websocket_urlpatterns]
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(routes))),
    }
)
