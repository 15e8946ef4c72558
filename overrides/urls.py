"""Back-office URLs, one list per screen module."""

from overrides.views import (
    access,
    approvals,
    cases,
    lines,
    links,
    orders,
    preferences,
    queue,
    reconciliation,
    search,
    session,
)

app_name = "backoffice"
urlpatterns = [
    *session.urlpatterns,
    *queue.urlpatterns,
    *lines.urlpatterns,
    *orders.urlpatterns,
    *links.urlpatterns,
    *search.urlpatterns,
    *preferences.urlpatterns,
    *cases.urlpatterns,
    *approvals.urlpatterns,
    *reconciliation.urlpatterns,
    *access.urlpatterns,
]
