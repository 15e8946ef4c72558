"""Top-level URLs: the front door, admin, back office, health, API v1 with its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config.health import health
from config.home import favicon, fetching_only_from_here, home
from integrations.urls import urlpatterns as inbound_urls
from orders.api.urls import urlpatterns as orders_api_urls

urlpatterns = [
    path("", home, name="home"),
    path("favicon.ico", favicon),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
    path("backoffice/", include("overrides.urls")),
    path("notifications/", include("notifications.urls")),
    # One namespace for all of API v1, so that the versioned schema documents every operation.
    path("api/v1/", include(([*orders_api_urls, *inbound_urls], "orders-api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(api_version="v1"), name="schema"),
    path("api/docs/", fetching_only_from_here(SpectacularSwaggerView.as_view(url_name="schema")), name="swagger-ui"),
    path("api/redoc/", fetching_only_from_here(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Customer portal, status links and technician pages.
    path("", include("portal.urls")),
]

handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
