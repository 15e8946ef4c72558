"""API v1 views: thin reads over orders.selectors."""

import uuid

from django.http import Http404
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
        # Numbers are unique per issuer only: a number two visible orders share names neither.
        # (The public id is unique; the URL takes either.)
        orders = self.get_queryset().select_related("asset")
        order = _by_public_id(orders, kwargs["number"]) or _by_unique_number(orders, kwargs["number"])
        context = {
            **self.get_serializer_context(),
            "detail": order_detail(order),
            "definitions": status_definitions(),
        }
        return Response(OrderDetailSerializer(order, context=context).data)


def _by_public_id(orders, value: str):
    try:
        public_id = uuid.UUID(value)
    except ValueError:
        return None
    return orders.filter(public_id=public_id).first()


def _by_unique_number(orders, number: str):
    found = list(orders.filter(number=number)[:2])
    if len(found) != 1:
        raise Http404
    return found[0]


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
