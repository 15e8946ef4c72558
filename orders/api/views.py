"""API v1 views: thin reads over orders.selectors."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from orders.api.filters import OrderFilter
from orders.api.serializers import OrderDetailSerializer, OrderListSerializer, StatusDefinitionSerializer
from orders.models import StatusDefinition
from orders.scoping import orders_visible_to
from orders.selectors import order_detail, order_list, status_definitions
from orders.status import LineStatus

# A public id as Django's uuid path converter reads it: anything else in the path is a 404.
PUBLIC_ID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class RefusesNulCharacters:
    """PostgreSQL cannot compare text with a NUL in it: any parameter carrying one is a 400
    naming it, before a filter or the cursor reaches the database."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise ValidationError({name.replace("\x00", "\\x00"): [_("Null characters are not allowed.")]})


class CanViewModel(permissions.DjangoModelPermissions):
    """Reads need the model's view permission too, not only writes."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class OrderViewSet(RefusesNulCharacters, viewsets.ReadOnlyModelViewSet):
    """Orders, newest change first. Filter by number, account, status, region, site, updated_since.
    One order is named by its public id (a UUID); integer ids never leave the back office."""

    permission_classes = [CanViewModel]
    filterset_class = OrderFilter
    lookup_field = "public_id"
    lookup_value_regex = PUBLIC_ID_PATTERN

    def get_queryset(self):
        return orders_visible_to(self.request.user, order_list())

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderListSerializer

    @extend_schema(responses=OrderDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        order = get_object_or_404(self.get_queryset().select_related("asset"), public_id=kwargs["public_id"])
        context = {
            **self.get_serializer_context(),
            "detail": order_detail(order),
            "definitions": status_definitions(),
        }
        return Response(OrderDetailSerializer(order, context=context).data)


class StatusVocabularyView(RefusesNulCharacters, generics.ListAPIView):
    """The canonical statuses with their customer-facing texts in the request's language."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = StatusDefinitionSerializer
    pagination_class = None
    queryset = StatusDefinition.objects.all()

    def list(self, request, *args, **kwargs):
        position = {code: index for index, code in enumerate(LineStatus.values)}
        definitions = sorted(self.get_queryset(), key=lambda definition: position[definition.code])
        return Response(self.get_serializer(definitions, many=True).data)
