from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api.views import OrderViewSet, StatusVocabularyView

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    path("statuses/", StatusVocabularyView.as_view(), name="status-list"),
    *router.urls,
]
