"""Websocket routes of the status core."""

from django.urls import path

from orders.consumers import OrderChangesConsumer

websocket_urlpatterns = [
    path("ws/orders/<uuid:public_id>/", OrderChangesConsumer.as_asgi()),
]
