"""Back-office screen: queue (being built)."""

urlpatterns: list = []
