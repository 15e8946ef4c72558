"""Websocket routes of the portal, the technician pages and status links."""

from django.urls import path

from portal.consumers import PortalOrderConsumer, StatusLinkConsumer

websocket_urlpatterns = [
    path("ws/portal/orders/<uuid:public_id>/", PortalOrderConsumer.as_asgi()),
    path("ws/s/<str:token>/", StatusLinkConsumer.as_asgi()),
]
