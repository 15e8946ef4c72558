"""Back-office screen: reconciliation (being built)."""

urlpatterns: list = []
