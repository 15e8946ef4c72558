"""Back-office URLs, one list per screen module."""

from overrides.views import access, approvals, cases, lines, queue, reconciliation

app_name = "backoffice"
urlpatterns = [
    *queue.urlpatterns,
    *lines.urlpatterns,
    *cases.urlpatterns,
    *approvals.urlpatterns,
    *reconciliation.urlpatterns,
    *access.urlpatterns,
]
