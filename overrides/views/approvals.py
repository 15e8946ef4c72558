"""Back-office screen: approvals (being built)."""

urlpatterns: list = []
