from django.urls import path

from integrations.views import InboundWebhookView

urlpatterns = [
    path("inbound/<slug:source_code>/", InboundWebhookView.as_view(), name="inbound-webhook"),
]
