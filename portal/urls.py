"""URLs of the portal (/portal/), status links (/s/) and technician pages (/tech/)."""

from django.urls import include, path

from portal.views import links, orders, preferences, session, tech

portal_patterns = ([*session.urlpatterns, *orders.urlpatterns, *preferences.urlpatterns], "portal")
link_patterns = (links.urlpatterns, "status-link")
tech_patterns = (tech.urlpatterns, "tech")

urlpatterns = [
    path("portal/", include(portal_patterns)),
    path("s/", include(link_patterns)),
    path("tech/", include(tech_patterns)),
]
