"""Back office for integrations: sources with freshness, code mappings, the inbox with dead
letters and quarantine, replays, a dry run, and depot sheet uploads."""

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from integrations.adapters import AdapterError, csv_depot
from integrations.forms import DryRunForm, SheetUploadForm, SourceSystemForm
from integrations.models import InboundMessage, MessageState, SourceSystem, StatusMapping
from integrations.selectors import inbound_messages_visible_to, is_overdue, sources_with_freshness
from integrations.services.inbox import inbound_messages_replay
from integrations.services.processing import inbound_dry_run
from integrations.services.sheets import depot_sheet_upload
from orders.admin import ScopedAdminMixin
from orders.models import StatusEvent
from orders.scoping import lines_visible_to


@admin.register(SourceSystem)
class SourceSystemAdmin(SimpleHistoryAdmin):
    form = SourceSystemForm
    list_display = ("code", "name", "kind", "message_format", "transport", "active", "last_received", "freshness")
    list_filter = ("kind", "message_format", "transport", "active")
    search_fields = ("code", "name")
    readonly_fields = ("previous_secret_expires_at", "poll_cursor", "poll_failures", "next_poll_at", "last_poll_error")

    def get_queryset(self, request):
        return sources_with_freshness()

    @admin.display(description=_("last message"), ordering="last_received_at")
    def last_received(self, source):
        return source.last_received_at

    @admin.display(description=_("freshness"))
    def freshness(self, source):
        if not source.active:
            return "—"
        if is_overdue(source, now=timezone.now()):
            return format_html('<span style="color:var(--status-problem)">{}</span>', _("overdue"))
        return format_html('<span style="color:var(--status-ok)">{}</span>', _("on time"))

    def save_model(self, request, obj, form, change):
        new_secret = form.cleaned_data.get("new_secret")
        if new_secret and new_secret != obj.secret:
            if obj.secret:
                obj.previous_secret = obj.secret
                obj.previous_secret_expires_at = timezone.now() + timezone.timedelta(hours=24)
            obj.secret = new_secret
        super().save_model(request, obj, form, change)


@admin.register(StatusMapping)
class StatusMappingAdmin(SimpleHistoryAdmin):
    list_display = (
        "source",
        "external_code",
        "qualifier",
        "status",
        "reason_code",
        "version",
        "valid_from",
        "valid_until",
    )
    list_filter = ("source", "status")
    list_select_related = ("source",)
    search_fields = ("external_code", "description")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        waiting = InboundMessage.objects.filter(
            source=obj.source, state=MessageState.QUARANTINED, parsed__unknown_code__code=obj.external_code
        ).values_list("pk", flat=True)
        replayed = inbound_messages_replay(message_ids=list(waiting))
        if replayed:
            messages.info(
                request, _("%(count)d quarantined message(s) replayed with this mapping.") % {"count": replayed}
            )


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return MessageState.choices

    def queryset(self, request, queryset):
        return queryset.filter(state=self.value()) if self.value() else queryset


@admin.register(InboundMessage)
class InboundMessageAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "message_id",
        "revision",
        "transport",
        "state",
        "error_kind",
        "attempts",
        "received_at",
        "processed_at",
    )
    list_filter = (StateFilter, "source", "transport", "error_kind", "is_test")
    list_select_related = ("source",)
    search_fields = ("message_id", "raw")
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = (
        "source",
        "message_id",
        "revision",
        "other_revisions",
        "content_hash",
        "is_test",
        "transport",
        "content_type",
        "provenance",
        "uploaded_by",
        "received_at",
        "state",
        "attempts",
        "next_attempt_at",
        "lease_expires_at",
        "requeued_at",
        "requeue_count",
        "processed_at",
        "error_kind",
        "error",
        "raw_payload",
        "parsed_facts",
        "events_produced",
    )
    readonly_fields = fields

    def scope_queryset(self, request, queryset):
        return inbound_messages_visible_to(request.user, queryset)

    def get_object(self, request, object_id, from_field=None):
        message = super().get_object(request, object_id, from_field)
        message.viewer = request.user  # for the events it produced, which are listed in scope only
        return message

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("error"))
    def error(self, message):
        if not message.last_error:
            return "—"
        unknown = (message.parsed or {}).get("unknown_code")
        if message.state == MessageState.QUARANTINED and unknown:
            query = urlencode(
                {"source": message.source_id, "external_code": unknown["code"], "qualifier": unknown["qualifier"]}
            )
            url = reverse("admin:integrations_statusmapping_add") + "?" + query
            return format_html(
                '{}<br><a class="button" href="{}">{}</a>', message.last_error, url, _("Create the mapping and replay")
            )
        return message.last_error

    @admin.display(description=_("other revisions"))
    def other_revisions(self, message):
        same_id = InboundMessage.objects.filter(source_id=message.source_id, message_id=message.message_id)
        visible = inbound_messages_visible_to(getattr(message, "viewer", AnonymousUser()), same_id)
        revisions = visible.exclude(pk=message.pk).order_by("revision")
        if not revisions:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:integrations_inboundmessage_change", args=[other.pk]), other.revision)
                for other in revisions
            ),
        )

    @admin.display(description=_("raw payload"))
    def raw_payload(self, message):
        return format_html('<pre style="white-space:pre-wrap;max-height:30em;overflow:auto">{}</pre>', message.raw)

    @admin.display(description=_("parsed facts"))
    def parsed_facts(self, message):
        if not message.parsed:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(message.parsed, indent=2, ensure_ascii=False))

    @admin.display(description=_("status events it produced"))
    def events_produced(self, message):
        events = StatusEvent.objects.filter(
            inbound_message_id=message.pk, line__in=lines_visible_to(getattr(message, "viewer", AnonymousUser()))
        ).select_related("line__order")
        if not events:
            return "—"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{} → {}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:orders_orderline_change", args=[e.line_id]),
                    e.line,
                    e.occurred_at,
                    e.from_status,
                    e.to_status,
                    e.get_outcome_display(),
                )
                for e in events
            ),
        )
        return format_html("<table>{}</table>", rows)

    @admin.action(description=_("Replay the selected messages"))
    def replay(self, request, queryset):
        count = inbound_messages_replay(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(count)d message(s) queued again.") % {"count": count})

    def get_urls(self):
        extra = [
            path("dry-run/", self.admin_site.admin_view(self.dry_run_view), name="integrations_dry_run"),
            path("upload-sheet/", self.admin_site.admin_view(self.upload_sheet_view), name="integrations_upload_sheet"),
            path("blank-sheet/", self.admin_site.admin_view(self.blank_sheet_view), name="integrations_blank_sheet"),
        ]
        return extra + super().get_urls()

    def dry_run_view(self, request):
        # It runs the whole pipeline and takes real row locks (then rolls back): a permission of its own.
        if not request.user.has_perm("integrations.dry_run_inboundmessage"):
            raise PermissionDenied
        form = DryRunForm(request.POST or None)
        outcomes, error = None, ""
        if request.method == "POST" and form.is_valid():
            outcomes, error = inbound_dry_run(source=form.cleaned_data["source"], raw=form.cleaned_data["payload"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dry run"),
            "form": form,
            "outcomes": outcomes,
            "error": error,
        }
        return TemplateResponse(request, "integrations/dry_run.html", context)

    def upload_sheet_view(self, request):
        if not request.user.has_perm("integrations.upload_depot_sheet"):
            raise PermissionDenied
        form = SheetUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["sheet"]
            try:
                created = depot_sheet_upload(
                    source=form.cleaned_data["source"], content=upload.read(), filename=upload.name, user=request.user
                )
            except AdapterError as failure:
                form.add_error("sheet", str(failure))
            else:
                self.message_user(request, _("%(count)d row(s) received.") % {"count": created})
                return redirect(reverse("admin:integrations_inboundmessage_changelist") + "?transport__exact=file")
        context = {**self.admin_site.each_context(request), "title": _("Upload a depot sheet"), "form": form}
        return TemplateResponse(request, "integrations/upload_sheet.html", context)

    def blank_sheet_view(self, request):
        context = {"columns": [*csv_depot.COLUMNS, *csv_depot.OPTIONAL_COLUMNS], "rows": range(20)}
        return TemplateResponse(request, "integrations/blank_sheet.html", context)
