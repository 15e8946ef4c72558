"""Back-office screen: access (being built)."""

urlpatterns: list = []
