"""Admin for the back office: configuration (rules, the escalation ladder, reasons) is edited
here; alerts, discrepancies, overrides, reconciliations and access reviews are only inspected,
because they change through the services behind the back-office screens. Each is scoped like
the back office: a person sees the cases and requests of the lines in their scope, and the
mismatches of a reconciliation run on those lines only."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin
from simple_history.admin import SimpleHistoryAdmin

from orders.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from orders.scoping import lines_visible_to, sees_every_order
from overrides.models import (
    AccessReview,
    AccessReviewItem,
    Discrepancy,
    DiscrepancyRule,
    EscalationStep,
    OverrideReason,
    OverrideRequest,
    ReconciliationItem,
    ReconciliationRun,
    StaleAlert,
    StaleStatusRule,
)
from overrides.selectors import override_requests_visible_to
from overrides.services.alerts import stale_alert_acknowledge

OPEN = ("resolved_at", admin.EmptyFieldListFilter)


@admin.register(StaleStatusRule)
class StaleStatusRuleAdmin(SimpleHistoryAdmin):
    list_display = ("status", "criticality", "region", "threshold", "active")
    list_filter = ("active", "status", "criticality", "region")
    list_select_related = ("region",)


@admin.register(EscalationStep)
class EscalationStepAdmin(SimpleHistoryAdmin):
    list_display = ("level", "assignee_group", "response_time")
    list_select_related = ("assignee_group",)


@admin.register(StaleAlert)
class StaleAlertAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "line",
        "status",
        "status_since",
        "opened_at",
        "level",
        "assignee_group",
        "due_at",
        "acknowledged_at",
        "resolved_at",
    )
    list_filter = (OPEN, ("acknowledged_at", admin.EmptyFieldListFilter), "level", "status", "assignee_group")
    list_select_related = ("line__order", "assignee_group")
    search_fields = ("line__order__number",)
    date_hierarchy = "opened_at"
    actions = ["acknowledge"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(line__in=lines_visible_to(request.user))

    def has_acknowledge_permission(self, request) -> bool:
        return request.user.has_perm("overrides.change_stalealert")

    @admin.action(description=_("Acknowledge the selected alerts"), permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        acknowledged = 0
        for alert_id in queryset.filter(acknowledged_at__isnull=True).values_list("pk", flat=True):
            try:
                stale_alert_acknowledge(alert_id=alert_id, user=request.user)
            except StaleAlert.DoesNotExist:
                continue  # the line is out of this person's scope
            acknowledged += 1
        self.message_user(
            request,
            ngettext("%(count)d alert acknowledged.", "%(count)d alerts acknowledged.", acknowledged)
            % {"count": acknowledged},
        )


@admin.register(DiscrepancyRule)
class DiscrepancyRuleAdmin(SimpleHistoryAdmin):
    list_display = ("name", "leading_source", "ledger_source", "status", "grace", "active")
    list_filter = ("active", "status")
    search_fields = ("name", "leading_source", "ledger_source")


@admin.register(Discrepancy)
class DiscrepancyAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("summary", "kind", "line", "level", "owner", "opened_at", "due_at", "resolved_at")
    list_filter = (OPEN, "kind", "level", "rule")
    list_select_related = ("line__order", "owner")
    search_fields = ("summary", "line__order__number")
    date_hierarchy = "opened_at"
    exclude = ("fingerprint",)

    def scope_queryset(self, request, queryset):
        return queryset.filter(line__in=lines_visible_to(request.user))


@admin.register(OverrideReason)
class OverrideReasonAdmin(SimpleHistoryAdmin, TranslationAdmin):
    list_display = ("code", "label", "active")
    list_filter = ("active",)
    search_fields = ("code", "label")


@admin.register(OverrideRequest)
class OverrideRequestAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "kind", "target_status", "reason", "requested_by", "requested_at", "state")
    list_filter = ("state", "kind", "reason", "hold_until_source_confirms")
    list_select_related = ("reason", "requested_by")
    search_fields = ("justification", "evidence_reference", "lines__order__number")
    date_hierarchy = "requested_at"

    def scope_queryset(self, request, queryset):
        # as in the approvals queue: only requests whose every line is in scope
        return queryset.filter(pk__in=override_requests_visible_to(request.user).values("pk"))


class ReconciliationItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReconciliationItem
    fields = ("line", "current_status", "proposed_status", "proposed_occurred_at", "facts", "message_ids", "applied")
    readonly_fields = fields
    extra = 0

    def has_view_permission(self, request, obj=None) -> bool:
        # The mismatches are part of the run: whoever may see the run sees them.
        return request.user.has_perm("overrides.view_reconciliationrun")

    def get_queryset(self, request):
        # A run covers a source, not a region; its mismatches are shown for the lines in scope only.
        in_scope = super().get_queryset(request).filter(line__in=lines_visible_to(request.user))
        return in_scope.select_related("line__order")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "source_code", "created_by", "created_at", "messages_read", "state", "applied_by")
    list_filter = ("state", "source_code")
    list_select_related = ("created_by", "applied_by")
    date_hierarchy = "created_at"
    inlines = [ReconciliationItemInline]

    def scope_queryset(self, request, queryset):
        # A run covers a source, not a region: it is in scope when it lists a mismatch on a line
        # in scope, or the person started it (a run that found nothing names no line at all).
        if sees_every_order(request.user):
            return queryset
        in_scope = ReconciliationItem.objects.filter(run=OuterRef("pk"), line__in=lines_visible_to(request.user))
        return queryset.filter(Exists(in_scope) | Q(created_by=request.user))


class AccessReviewItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AccessReviewItem
    fields = ("user", "power", "via", "scopes_shown", "last_used_at", "decision", "decided_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("scope"))
    def scopes_shown(self, item: AccessReviewItem) -> str:
        return item.scope_text

    def has_view_permission(self, request, obj=None) -> bool:
        # The grants are part of the review: whoever may see the review sees them.
        return request.user.has_perm("overrides.view_accessreview")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


@admin.register(AccessReview)
class AccessReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "reviewer", "created_at", "completed_at")
    list_filter = (("completed_at", admin.EmptyFieldListFilter),)
    list_select_related = ("reviewer",)
    date_hierarchy = "created_at"
    inlines = [AccessReviewItemInline]
