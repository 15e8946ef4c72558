"""Top-level URLs: admin, health, API v1 with its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.health import health
from integrations.urls import urlpatterns as inbound_urls
from orders.api.urls import urlpatterns as orders_api_urls

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="swagger-ui", permanent=False)),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("backoffice/", include("overrides.urls")),
    # One namespace for all of API v1, so that the versioned schema documents every operation.
    path("api/v1/", include(([*orders_api_urls, *inbound_urls], "orders-api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Customer portal, status links and technician pages.
    path("", include("portal.urls")),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
