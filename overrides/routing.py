"""Websocket routes of the back office."""

from django.urls import path

from overrides.consumers import BackOfficeChangesConsumer

websocket_urlpatterns = [
    path("ws/backoffice/", BackOfficeChangesConsumer.as_asgi()),
]
