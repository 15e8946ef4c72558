"""Output serializers of API v1 (read-only)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Order, OrderLine, Shipment, StatusDefinition, StatusEvent
from orders.status import PROGRESS_WEIGHT, customer_status


class AccountRefSerializer(serializers.Serializer):
    number = serializers.CharField()
    name = serializers.CharField()


class StatusDefinitionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_code_display")
    rank = serializers.IntegerField(allow_null=True, help_text="Place on the normal path; null when off-path.")
    progress_weight = serializers.SerializerMethodField()
    internal_only = serializers.BooleanField()
    shown_to_customer_as = serializers.CharField()

    class Meta:
        model = StatusDefinition
        fields = [
            "code",
            "label",
            "rank",
            "progress_weight",
            "customer_label",
            "customer_description",
            "internal_only",
            "shown_to_customer_as",
        ]

    def get_progress_weight(self, definition: StatusDefinition) -> float | None:
        return PROGRESS_WEIGHT.get(definition.code)


class OrderListSerializer(serializers.ModelSerializer):
    # Outside the back office an order is named by its public id; integer ids stay internal.
    id = serializers.UUIDField(source="public_id", read_only=True)
    account = AccountRefSerializer()
    region = serializers.CharField(source="region.code")
    status_label = serializers.CharField(source="get_status_display")
    url = serializers.HyperlinkedIdentityField(
        view_name="v1:order-detail", lookup_field="public_id", lookup_url_kwarg="public_id"
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "url",
            "account",
            "region",
            "priority",
            "ship_policy",
            "status",
            "status_label",
            "progress_percent",
            "earliest_eta",
            "latest_eta",
            "is_test",
            "created_at",
            "updated_at",
        ]


class LineReferenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    issuer = serializers.CharField()


class ShipmentLineSerializer(serializers.Serializer):
    line = serializers.CharField(source="line.number")
    line_public_id = serializers.UUIDField(source="line.public_id")
    quantity = serializers.IntegerField()


class ShipmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")
    ship_from = serializers.SerializerMethodField()
    lines = ShipmentLineSerializer(many=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "carrier",
            "tracking_number",
            "bill_of_lading",
            "pro_number",
            "ship_from",
            "eta",
            "last_location",
            "last_location_at",
            "packages",
            "source_system",
            "lines",
        ]

    @extend_schema_field(
        {"type": "object", "nullable": True, "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    )
    def get_ship_from(self, shipment: Shipment) -> dict | None:
        if shipment.ship_from:
            return {"code": shipment.ship_from.code, "name": shipment.ship_from.name}
        return {"code": shipment.ship_from_code, "name": ""} if shipment.ship_from_code else None


class OrderLineSerializer(serializers.ModelSerializer):
    """A line with its split children, nested; the tree comes from context["children_of"]."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    part = serializers.SerializerMethodField()
    site = serializers.SerializerMethodField()
    status_label = serializers.CharField(source="get_status_display")
    customer_label = serializers.SerializerMethodField()
    references = LineReferenceSerializer(many=True)
    children = serializers.SerializerMethodField()

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "number",
            "part",
            "quantity",
            "site",
            "eta",
            "tracking_number",
            "carrier",
            "status",
            "status_label",
            "customer_label",
            "status_occurred_at",
            "is_split",
            "quantity_ready",
            "references",
            "children",
        ]

    @extend_schema_field(
        {"type": "object", "properties": {k: {"type": "string"} for k in ("number", "description", "criticality")}}
    )
    def get_part(self, line: OrderLine) -> dict:
        return {"number": line.part.number, "description": line.part.description, "criticality": line.part.criticality}

    @extend_schema_field(
        {"type": "object", "nullable": True, "properties": {"code": {"type": "string"}, "name": {"type": "string"}}}
    )
    def get_site(self, line: OrderLine) -> dict | None:
        return {"code": line.site.code, "name": line.site.name} if line.site else None

    def get_customer_label(self, line: OrderLine) -> str:
        definition = self.context["definitions"].get(customer_status(line.status))
        return definition.customer_label if definition else ""

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/OrderLine"}})
    def get_children(self, line: OrderLine) -> list[dict]:
        children = self.context["children_of"].get(line.pk, [])
        return OrderLineSerializer(children, many=True, context=self.context).data


class StatusEventSerializer(serializers.ModelSerializer):
    id = serializers.SerializerMethodField()
    line = serializers.CharField(source="line.number")
    line_id = serializers.UUIDField(source="line.public_id")
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = StatusEvent
        fields = [
            "id",
            "line",
            "line_id",
            "sequence",
            "from_status",
            "to_status",
            "outcome",
            "occurred_at",
            "received_at",
            "applied_at",
            "actor_kind",
            "actor",
            "source_system",
            "reason_code",
            "reason_text",
        ]

    def get_id(self, event: StatusEvent) -> str:
        """Stable and not an integer id: the line's public id and the event's place on that line."""
        return f"{event.line.public_id}.{event.sequence}"


class OrderDetailSerializer(OrderListSerializer):
    """Built from an orders.selectors.OrderDetail placed in context["detail"]."""

    asset = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(OrderListSerializer.Meta):
        fields = [
            *OrderListSerializer.Meta.fields,
            "customer_reference",
            "requested_date",
            "promised_date",
            "asset",
            "summary",
            "lines",
            "shipments",
            "timeline",
        ]

    @extend_schema_field({"type": "object", "nullable": True})
    def get_asset(self, order: Order) -> dict | None:
        asset = order.asset
        if asset is None:
            return None
        return {
            "serial_number": asset.serial_number,
            "model": asset.model_name,
            "downtime_cost_per_hour": str(asset.downtime_cost_per_hour),
            "currency": asset.currency,
        }

    def get_summary(self, order: Order) -> str:
        return self.context["detail"].summary

    @extend_schema_field(OrderLineSerializer(many=True))
    def get_lines(self, order: Order) -> list[dict]:
        detail = self.context["detail"]
        context = {**self.context, "children_of": detail.children_of}
        return OrderLineSerializer(detail.top_lines, many=True, context=context).data

    @extend_schema_field(ShipmentSerializer(many=True))
    def get_shipments(self, order: Order) -> list[dict]:
        return ShipmentSerializer(self.context["detail"].shipments, many=True).data

    @extend_schema_field(StatusEventSerializer(many=True))
    def get_timeline(self, order: Order) -> list[dict]:
        return StatusEventSerializer(self.context["detail"].events, many=True).data
