"""Twilio's webhooks and the back-office delivery log page."""

from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("twilio/status/", views.twilio_status, name="twilio_status"),
    path("twilio/inbound/", views.twilio_inbound, name="twilio_inbound"),
    path("orders/<int:pk>/", views.order_notifications, name="order"),
]
