"""Admin for configuration and inspection. Statuses are read-only here: they change only
through orders.services (a source fact or an override).

Every order-related page goes through the same scoping selectors as the back office
(orders.scoping): a person lists and opens only what their scope covers, and anything else
answers 404 (403 first when they may not see that kind of record at all)."""

import json

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin
from simple_history.admin import SimpleHistoryAdmin

from orders.admin_contacts import OrderContactAdminBase, OrderContactInline
from orders.admin_csv import CsvImportExportMixin
from orders.models import (
    Account,
    Asset,
    DeliveryState,
    EventSuppression,
    LineReference,
    Order,
    OrderContact,
    OrderLine,
    OutboxDelivery,
    OutboxEvent,
    Part,
    Region,
    Site,
    StatusDefinition,
    StatusEvent,
)
from orders.publication import registered_handlers
from orders.scoping import lines_visible_to, orders_visible_to, sees_every_order
from orders.services.lines import LINE_FIELDS_EDITABLE, LINE_FIELDS_EDITABLE_ON_ADD, line_edit_save
from orders.services.outbox import outbox_redeliver
from orders.services.reference import REGIONS, SITES

EVENT_FIELDS = (
    "sequence",
    "from_status",
    "to_status",
    "outcome",
    "occurred_at",
    "received_at",
    "applied_at",
    "actor_kind",
    "actor_label",
    "actor_user",
    "source_system",
    "inbound_message",
    "reason_code",
    "reason_text",
)
# The inline timeline shows a reason by its label (see reason_labels_register), never as `carrier_confirmed`.
TIMELINE_FIELDS = tuple("reason_shown" if name == "reason_code" else name for name in EVENT_FIELDS)


@admin.display(description=_("inbound message"))
def inbound_message_link(event: StatusEvent):
    """Lineage: from a timeline row to the exact message that moved the line."""
    if event.inbound_message_id is None:
        return "—"
    try:
        url = reverse("admin:integrations_inboundmessage_change", args=[event.inbound_message_id])
    except NoReverseMatch:  # the integrations app is not installed
        return event.inbound_message_id
    return format_html('<a href="{}">#{}</a>', url, event.inbound_message_id)


_reason_labels_lookup = None


def reason_labels_register(lookup) -> None:
    """The app that manages reasons (overrides) tells how their codes read: a callable returning
    {code: label} in the active language. Without one, a code is shown as it is."""
    global _reason_labels_lookup
    _reason_labels_lookup = lookup


def reason_labels() -> dict:
    """Every reason code's label, read once per page (a handful of rows)."""
    return dict(_reason_labels_lookup()) if _reason_labels_lookup is not None else {}


class ReasonLabelMixin:
    """A change page that shows the record's reason by its label, never as `carrier_confirmed`,
    titled (and its breadcrumbs too) as the admin names the record in `change_view`."""

    readonly_fields = ("reason_shown",)
    change_form_template = "admin/change_form_titled.html"

    @admin.display(description=_("reason code"))
    def reason_shown(self, record) -> str:
        return reason_labels().get(record.reason_code, record.reason_code) if record.reason_code else "—"

    def get_fields(self, request, obj=None):
        fields = [name for name in super().get_fields(request, obj) if name != "reason_shown"]
        return ["reason_shown" if name == "reason_code" else name for name in fields]


class ScopedAdminMixin:
    """Lists, change pages and history pages limited to the person's scope.

    Subclasses say how a record reaches its order in `scope_queryset`. Out of scope is
    indistinguishable from not existing: 404, after the usual 403 for people who may not see
    this kind of record at all (the same order of checks as the back office)."""

    def scope_queryset(self, request, queryset):
        raise NotImplementedError

    def get_queryset(self, request):
        return self.scope_queryset(request, super().get_queryset(request))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            if not self.has_view_or_change_permission(request):
                raise PermissionDenied
            raise Http404
        return obj

    def history_view(self, request, object_id, extra_context=None):
        # simple-history falls back to the history rows of an object its queryset does not hold.
        self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history fetches the historical version without the admin's queryset.
        self.get_object(request, unquote(object_id))
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Region)
class RegionAdmin(CsvImportExportMixin, admin.ModelAdmin):
    csv_table = REGIONS
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Site)
class SiteAdmin(CsvImportExportMixin, admin.ModelAdmin):
    csv_table = SITES
    list_display = ("code", "name", "kind", "region", "country", "time_zone")
    list_filter = ("kind", "region")
    search_fields = ("code", "name")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("number", "name", "kind", "region", "country", "language")
    list_filter = ("kind", "region", "language")
    search_fields = ("number", "name")


@admin.register(Part)
class PartAdmin(admin.ModelAdmin):
    list_display = ("number", "description", "category", "criticality")
    list_filter = ("criticality", "category")
    search_fields = ("number", "description")


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("serial_number", "model_name", "account", "downtime_cost_per_hour", "currency")
    list_select_related = ("account",)
    search_fields = ("serial_number", "model_name", "account__name")
    autocomplete_fields = ("account",)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ("number", "parent", "part", "quantity", "site", "eta", "status", "tracking_number")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("part", "site", "parent")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ("number", "account", "region", "priority", "status", "progress_percent", "latest_eta", "is_test")
    list_filter = ("status", "region", "priority", "ship_policy", "is_test")
    list_select_related = ("account", "region")
    search_fields = ("number", "customer_reference", "account__name", "account__number")
    autocomplete_fields = ("account", "asset")
    readonly_fields = (
        "status",
        "progress_percent",
        "earliest_eta",
        "latest_eta",
        "outbox_sequence",  # consumers order and deduplicate changes by it: only the outbox counts it
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    inlines = [OrderContactInline, OrderLineInline]

    def scope_queryset(self, request, queryset):
        return orders_visible_to(request.user, queryset)


@admin.register(OrderContact)
class OrderContactAdmin(ScopedAdminMixin, OrderContactAdminBase):
    def scope_queryset(self, request, queryset):
        return queryset.filter(order__in=orders_visible_to(request.user))


class StatusEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The line's timeline: every fact received, applied or not."""

    model = StatusEvent
    fk_name = "line"
    fields = TIMELINE_FIELDS
    readonly_fields = TIMELINE_FIELDS
    inbound_message = staticmethod(inbound_message_link)
    ordering = ("sequence",)
    verbose_name_plural = _("timeline")
    reasons: dict = {}

    @admin.display(description=_("reason"))
    def reason_shown(self, event: StatusEvent) -> str:
        return self.reasons.get(event.reason_code, event.reason_code) if event.reason_code else "—"

    def get_queryset(self, request):
        # An inline is made afresh for each request: the labels are read once per page.
        self.reasons = reason_labels()
        return super().get_queryset(request).select_related("actor_user")


class LineReferenceInline(admin.TabularInline):
    model = LineReference
    extra = 0


@admin.register(OrderLine)
class OrderLineAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ("__str__", "part", "quantity", "site", "status", "eta", "is_split")
    list_filter = ("status", "site__region", "part__criticality", "is_split")
    list_select_related = ("order", "part", "site")
    search_fields = ("order__number", "part__number", "tracking_number", "references__value")
    autocomplete_fields = ("order", "part", "site")
    inlines = [LineReferenceInline, StatusEventInline]

    def scope_queryset(self, request, queryset):
        return lines_visible_to(request.user, queryset)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "order":
            kwargs["queryset"] = orders_visible_to(request.user)  # a new line goes only on an order in scope
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # Quantities of a line in a split tree must keep adding up: change them by splitting.
        editable = LINE_FIELDS_EDITABLE if obj is not None else LINE_FIELDS_EDITABLE_ON_ADD
        return tuple(
            field.name
            for field in OrderLine._meta.concrete_fields
            if field.editable and not field.primary_key and field.name not in editable
        )

    def get_fields(self, request, obj=None):
        # In the model's order (not the editable ones first): the line reads as it always has.
        shown = set(super().get_fields(request, obj))
        return [field.name for field in OrderLine._meta.concrete_fields if field.name in shown]

    def save_model(self, request, obj, form, change):
        # Its site, ETA, tracking and carrier show on the order's pages: published in the order's
        # sequence, so open pages change at once (who saved it: simple-history's middleware).
        # Only what the form changed is saved, onto the line as it is now: a source may have
        # moved it since the form was loaded.
        line_edit_save(line=obj, fields=form.changed_data, adding=not change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A line is part of the order's record (its events are append-only): it is cancelled, not deleted.
        return False


@admin.register(StatusEvent)
class StatusEventAdmin(ReasonLabelMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "line", "from_status", "to_status", "outcome", "actor_kind", "source_system")
    list_filter = ("outcome", "actor_kind", "to_status", "source_system")
    list_select_related = ("line__order",)
    search_fields = ("line__order__number", "source_system", "reason_code")
    date_hierarchy = "occurred_at"

    def scope_queryset(self, request, queryset):
        return queryset.filter(order__in=orders_visible_to(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_statusevent")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, unquote(object_id))
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "subtitle": event_title(event)}
        )


def event_title(event: StatusEvent) -> str:
    """A status event as people read it: the line and the change, by the statuses' labels."""
    return f"{event.line}: {event.get_from_status_display() or '—'} → {event.get_to_status_display()}"


@admin.register(EventSuppression)
class EventSuppressionAdmin(ReasonLabelMixin, ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Events hidden from customers: made through an override request, never edited here."""

    list_display = ("event", "reason_code", "suppressed_by", "approved_by", "created_at")
    list_select_related = ("event__line__order", "suppressed_by", "approved_by")
    search_fields = ("event__line__order__number", "reason_code")

    def get_list_display(self, request):
        labels = reason_labels()  # once per page

        @admin.display(description=_("reason"), ordering="reason_code")
        def reason(suppression: EventSuppression) -> str:
            return labels.get(suppression.reason_code, suppression.reason_code)

        @admin.display(description=_("event"), ordering="event")
        def event(suppression: EventSuppression) -> str:
            # The line and the change hidden, by their labels (the event's own name is technical).
            return event_title(suppression.event)

        shown = {"reason_code": reason, "event": event}
        return tuple(shown.get(name, name) for name in super().get_list_display(request))

    readonly_fields = ("reason_shown", "event_shown")

    @admin.display(description=_("event"))
    def event_shown(self, suppression: EventSuppression) -> str:
        return event_title(suppression.event)

    def get_fields(self, request, obj=None):
        fields = [name for name in super().get_fields(request, obj) if name != "event_shown"]
        return ["event_shown" if name == "event" else name for name in fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        suppression = self.get_object(request, unquote(object_id))
        title = event_title(suppression.event)
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "subtitle": title})

    def scope_queryset(self, request, queryset):
        return queryset.filter(event__order__in=orders_visible_to(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_eventsuppression")


class OutboxDeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OutboxDelivery
    fields = ("handler", "state", "attempts", "next_attempt_at", "leased_until", "delivered_at", "last_error")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(OutboxEvent)
class OutboxEventAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "topic", "order", "order_sequence", "created_at", "dispatched_at")
    list_filter = ("topic", ("dispatched_at", admin.EmptyFieldListFilter))
    list_select_related = ("order",)
    inlines = [OutboxDeliveryInline]

    def scope_queryset(self, request, queryset):
        if sees_every_order(request.user):
            return queryset  # rows about no order (e.g. reference data) included
        return queryset.filter(order__in=orders_visible_to(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_outboxevent")


class HandlerFilter(admin.SimpleListFilter):
    """The handlers registered in this process, and any other name found on a dead delivery."""

    title = _("handler")
    parameter_name = "handler"

    def lookups(self, request, model_admin):
        dead = OutboxDelivery.objects.filter(state=DeliveryState.DEAD).values_list("handler", flat=True).distinct()
        names = {registration.name for registration in registered_handlers()} | set(dead)
        return [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset):
        return queryset.filter(handler=self.value()) if self.value() else queryset


@admin.register(OutboxDelivery)
class OutboxDeliveryAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each handler's delivery of each change: dead ones are redelivered from here."""

    list_display = ("id", "handler", "topic", "order", "state", "attempts", "next_attempt_at", "error_summary")
    list_filter = ("state", HandlerFilter)
    list_select_related = ("event__order",)
    search_fields = ("event__order__number",)
    fields = (
        "event",
        "handler",
        "state",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "delivered_at",
        "last_error",
        "payload",
    )
    readonly_fields = fields
    actions = ["redeliver"]

    def scope_queryset(self, request, queryset):
        if sees_every_order(request.user):
            return queryset
        return queryset.filter(event__order__in=orders_visible_to(request.user))

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("orders.view_outboxdelivery")

    def has_redeliver_permission(self, request) -> bool:
        return request.user.has_perm("orders.redeliver_outboxdelivery")

    @admin.display(description=_("topic"))
    def topic(self, delivery):
        return delivery.event.topic

    @admin.display(description=_("order"))
    def order(self, delivery):
        return delivery.event.order or "—"

    @admin.display(description=_("last error"))
    def error_summary(self, delivery):
        return (delivery.last_error[:80] + "…") if len(delivery.last_error) > 80 else delivery.last_error or "—"

    @admin.display(description=_("payload"))
    def payload(self, delivery):
        return format_html(
            "<pre>{}</pre>", json.dumps(delivery.event.payload, indent=2, ensure_ascii=False, sort_keys=True)
        )

    @admin.action(description=_("Deliver the selected ones again"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        count = outbox_redeliver(delivery_ids=list(queryset.values_list("pk", flat=True)))
        message = ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", count)
        self.message_user(request, message % {"count": count})


@admin.register(StatusDefinition)
class StatusDefinitionAdmin(SimpleHistoryAdmin, TranslationAdmin):
    list_display = ("code", "customer_label", "internal_only", "shown_to_customer_as")
    readonly_fields = ("code",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
