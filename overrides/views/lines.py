"""Back-office screen: lines (being built)."""

urlpatterns: list = []
