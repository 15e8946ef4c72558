"""Admin for the back office: configuration (rules, the escalation ladder, reasons) is edited
here; alerts, discrepancies, overrides, reconciliations and access reviews are only inspected,
because they change through the services behind the back-office screens. Each is scoped like
the back office: a person sees the cases and requests of the lines in their scope, and the
mismatches of a reconciliation run on those lines only."""

from django.contrib import admin
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from modeltranslation.admin import TranslationAdmin
from simple_history.admin import SimpleHistoryAdmin

from orders.admin import ReadOnlyAdminMixin, ScopedAdminMixin, reason_labels_register
from orders.scoping import lines_visible_to, sees_every_order
from orders.status import LineStatus
from overrides import admin_site
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
from overrides.roles import role_label
from overrides.selectors import override_requests_visible_to, reason_labels
from overrides.services.access import access_power_label, access_via_label
from overrides.services.alerts import stale_alert_acknowledge
from overrides.texts import local_time_text

OPEN = ("resolved_at", admin.EmptyFieldListFilter)

admin_site.install(admin.site)
reason_labels_register(reason_labels)


@admin.display(description=_("assigned role"), ordering="assignee_group__name")
def assigned_role(obj) -> str:
    """A role group by its name in the reader's language, not the group's code ("planner")."""
    return role_label(obj.assignee_group.name) if obj.assignee_group_id else "—"


class AssignedRoleFilter(admin.SimpleListFilter):
    """By the role asked to respond, each named in the reader's language."""

    title = _("assigned role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(str(group.pk), role_label(group.name)) for group in Group.objects.order_by("name")]

    def queryset(self, request, queryset):
        value = self.value() or ""
        return queryset.filter(assignee_group_id=int(value)) if value.isdigit() else queryset


@admin.register(StaleStatusRule)
class StaleStatusRuleAdmin(SimpleHistoryAdmin):
    list_display = ("status", "criticality", "region", "threshold", "active")
    list_filter = ("active", "status", "criticality", "region")
    list_select_related = ("region",)


@admin.register(EscalationStep)
class EscalationStepAdmin(SimpleHistoryAdmin):
    list_display = ("level", assigned_role, "response_time")
    list_select_related = ("assignee_group",)


@admin.register(StaleAlert)
class StaleAlertAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "line",
        "status",
        "status_since",
        "opened_at",
        "level",
        assigned_role,
        "due_at",
        "acknowledged_at",
        "resolved_at",
    )
    list_filter = (OPEN, ("acknowledged_at", admin.EmptyFieldListFilter), "level", "status", AssignedRoleFilter)
    list_select_related = ("line__order", "assignee_group")
    search_fields = ("line__order__number",)
    date_hierarchy = "opened_at"
    actions = ["acknowledge"]
    fields = (
        "line",
        "rule",
        "status",
        "status_since",
        "opened_at",
        "level",
        assigned_role,
        "due_at",
        "acknowledged_by",
        "acknowledged_at",
        "resolved_at",
    )
    readonly_fields = (assigned_role,)

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
    list_display = ("summary_shown", "kind", "line", "level", "owner", "opened_at", "due_at", "resolved_at")
    list_filter = (OPEN, "kind", "level", "rule")
    list_select_related = ("line__order", "owner")
    search_fields = ("summary", "line__order__number")
    date_hierarchy = "opened_at"
    exclude = ("fingerprint", "summary", "summary_code", "summary_params")
    readonly_fields = ("summary_shown",)

    @admin.display(description=_("summary"), ordering="summary")
    def summary_shown(self, discrepancy: Discrepancy) -> str:
        return discrepancy.summary_text

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
    # The coded texts written out in the reader's language (never `[{"code": "backwards"}]`).
    exclude = ("approval_reasons", "from_statuses")
    readonly_fields = ("approval_reasons_shown", "from_statuses_shown")

    @admin.display(description=_("why approval is needed"))
    def approval_reasons_shown(self, override: OverrideRequest) -> str:
        return "; ".join(override.approval_reason_texts) or "—"

    @admin.display(description=_("statuses when requested"))
    def from_statuses_shown(self, override: OverrideRequest) -> str:
        return (
            "; ".join(
                f"{line}: {LineStatus(status).label if status in LineStatus.values else status}"
                for line in override.lines.select_related("order")
                for status in [override.from_status_of(line.pk)]
                if status
            )
            or "—"
        )

    def scope_queryset(self, request, queryset):
        # as in the approvals queue: only requests whose every line is in scope
        return queryset.filter(pk__in=override_requests_visible_to(request.user).values("pk"))


class ReconciliationItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReconciliationItem
    fields = (
        "line",
        "current_status",
        "proposed_status",
        "proposed_occurred_at",
        "facts_shown",
        "message_ids",
        "applied",
    )
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("missing facts"))
    def facts_shown(self, item: ReconciliationItem) -> str:
        return (
            "; ".join(
                f"{fact['status']} {local_time_text(fact['occurred_at'])} ({fact['outcome']})"
                for fact in item.missing_facts_shown
            )
            or "—"
        )

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
    fields = ("user", "power_shown", "via_shown", "scopes_shown", "last_used_at", "decision", "decided_at")
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("power"))
    def power_shown(self, item: AccessReviewItem) -> str:
        return access_power_label(item.power)

    @admin.display(description=_("granted through"))
    def via_shown(self, item: AccessReviewItem) -> str:
        return access_via_label(item.via)

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
