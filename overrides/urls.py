"""Back-office URLs, one list per screen module."""

from overrides.views import access, approvals, lines, queue, reconciliation

app_name = "backoffice"
urlpatterns = [
    *queue.urlpatterns,
    *lines.urlpatterns,
    *approvals.urlpatterns,
    *reconciliation.urlpatterns,
    *access.urlpatterns,
]
