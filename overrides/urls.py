"""Back-office URLs, one list per screen module."""

from overrides.views import access, approvals, cases, lines, queue, reconciliation, session

app_name = "backoffice"
urlpatterns = [
    *session.urlpatterns,
    *queue.urlpatterns,
    *lines.urlpatterns,
    *cases.urlpatterns,
    *approvals.urlpatterns,
    *reconciliation.urlpatterns,
    *access.urlpatterns,
]
