"""API v1 views: thin reads over orders.selectors."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, viewsets
from rest_framework.response import Response

from orders.api.filters import OrderFilter
from orders.api.serializers import OrderDetailSerializer, OrderListSerializer, StatusDefinitionSerializer
from orders.models import StatusDefinition
from orders.scoping import orders_visible_to
from orders.selectors import order_detail, order_list, status_definitions
from orders.status import LineStatus


class CanViewModel(permissions.DjangoModelPermissions):
    """Reads need the model's view permission too, not only writes."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class OrderViewSet(viewsets.ReadOnlyModelViewSet):
    """Orders, newest change first. Filter by number, account, status, region, site, updated_since."""

    permission_classes = [CanViewModel]
    filterset_class = OrderFilter
    lookup_field = "number"
    lookup_value_regex = r"[^/]+"

    def get_queryset(self):
        return orders_visible_to(self.request.user, order_list())

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderListSerializer

    @extend_schema(responses=OrderDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        order = get_object_or_404(self.get_queryset().select_related("asset"), number=kwargs["number"])
        context = {
            **self.get_serializer_context(),
            "detail": order_detail(order),
            "definitions": status_definitions(),
        }
        return Response(OrderDetailSerializer(order, context=context).data)


class StatusVocabularyView(generics.ListAPIView):
    """The canonical statuses with their customer-facing texts in the request's language."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = StatusDefinitionSerializer
    pagination_class = None
    queryset = StatusDefinition.objects.all()

    def list(self, request, *args, **kwargs):
        position = {code: index for index, code in enumerate(LineStatus.values)}
        definitions = sorted(self.get_queryset(), key=lambda definition: position[definition.code])
        return Response(self.get_serializer(definitions, many=True).data)
