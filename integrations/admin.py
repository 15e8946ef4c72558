"""Back office for integrations: sources with freshness, code mappings, the inbox with dead
letters and quarantine, replays, a dry run, and depot sheet uploads."""

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from integrations.adapters import AdapterError, csv_depot
from integrations.forms import DryRunForm, SheetLayoutForm, SheetUploadForm, SourceSystemForm
from integrations.models import InboundMessage, MessageFormat, MessageState, SheetUpload, SourceSystem, StatusMapping
from integrations.selectors import inbound_messages_visible_to, is_overdue, sources_with_freshness
from integrations.services.inbox import inbound_messages_replay
from integrations.services.parsing import sheet_layout_for
from integrations.services.processing import inbound_dry_run
from integrations.services.reference_data import MAPPINGS
from integrations.services.sheets import (
    depot_sheet_dry_run,
    depot_sheet_preview,
    depot_sheet_upload,
    depot_sheet_upload_results,
    row_results_csv,
    sheet_delimiter,
    source_sheet_layout_set,
    upload_delimiter,
)
from orders.admin import ScopedAdminMixin
from orders.admin_csv import CsvImportExportMixin
from orders.models import StatusEvent
from orders.scoping import lines_visible_to, sees_every_order


@admin.register(SourceSystem)
class SourceSystemAdmin(SimpleHistoryAdmin):
    form = SourceSystemForm
    list_display = (
        "code",
        "name",
        "kind",
        "message_format",
        "transport",
        "active",
        "last_received",
        "freshness",
        "sheet_layout_link",
    )
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

    def get_urls(self):
        layout = path(
            "<path:object_id>/sheet-layout/",
            self.admin_site.admin_view(self.sheet_layout_view),
            name="integrations_sourcesystem_sheet_layout",
        )
        return [layout, *super().get_urls()]

    @admin.display(description=_("depot sheet"))
    def sheet_layout_link(self, source):
        if source.message_format != MessageFormat.CSV_DEPOT:
            return "—"
        url = reverse("admin:integrations_sourcesystem_sheet_layout", args=[source.pk])
        return format_html('<a href="{}">{}</a>', url, _("column layout"))

    def sheet_layout_view(self, request, object_id):
        source = get_object_or_404(SourceSystem, pk=object_id, message_format=MessageFormat.CSV_DEPOT)
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        form = SheetLayoutForm(request.POST or None, request.FILES or None, initial=SheetLayoutForm.initial_for(source))
        preview = None
        if request.method == "POST" and form.is_valid():
            layout = csv_depot.SheetLayout(columns=form.columns(), date_order=form.cleaned_data["sheet_date_order"])
            if "save" in request.POST:
                source_sheet_layout_set(
                    source_id=source.pk, columns=form.columns(), date_order=form.cleaned_data["sheet_date_order"]
                )
                self.message_user(request, _("The column layout of %(source)s is saved.") % {"source": source.code})
            if form.cleaned_data["sample"]:
                try:
                    preview = depot_sheet_preview(content=form.cleaned_data["sample"].read(), layout=layout)
                except AdapterError as failure:
                    form.add_error("sample", str(failure))
            elif "save" in request.POST:
                return redirect(reverse("admin:integrations_sourcesystem_change", args=[source.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Column layout of %(source)s") % {"source": source.name},
            "source": source,
            "form": form,
            "preview": preview,
        }
        return TemplateResponse(request, "integrations/sheet_layout.html", context)

    def save_model(self, request, obj, form, change):
        new_secret = form.cleaned_data.get("new_secret")
        if new_secret and new_secret != obj.secret:
            if obj.secret:
                obj.previous_secret = obj.secret
                obj.previous_secret_expires_at = timezone.now() + timezone.timedelta(hours=24)
            obj.secret = new_secret
        super().save_model(request, obj, form, change)


@admin.register(StatusMapping)
class StatusMappingAdmin(CsvImportExportMixin, SimpleHistoryAdmin):
    csv_table = MAPPINGS
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
    search_fields = ("message_id", "=receipt", "raw")
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = (
        "source",
        "message_id",
        "receipt",
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
            path(
                "upload-sheet/<int:upload_id>/",
                self.admin_site.admin_view(self.sheet_results_view),
                name="integrations_sheet_results",
            ),
            path(
                "upload-sheet/<int:upload_id>/results.csv",
                self.admin_site.admin_view(self.sheet_results_csv_view),
                name="integrations_sheet_results_csv",
            ),
            path("blank-sheet/", self.admin_site.admin_view(self.blank_sheet_view), name="integrations_blank_sheet"),
        ]
        return extra + super().get_urls()

    def dry_run_view(self, request):
        # It runs the whole pipeline and takes real row locks (then rolls back): a permission of its own.
        if not request.user.has_perm("integrations.dry_run_inboundmessage"):
            raise PermissionDenied
        form = DryRunForm(request.POST or None)
        outcomes, error, rows = None, "", None
        if request.method == "POST" and form.is_valid():
            source, payload = form.cleaned_data["source"], form.cleaned_data["payload"]
            if source.message_format == MessageFormat.CSV_DEPOT:
                # A sheet is uploaded row by row, one message each: tried the same way.
                try:
                    rows = depot_sheet_dry_run(source=source, content=payload, user=request.user)
                except AdapterError as failure:
                    error = str(failure)
                else:
                    if "export" in request.POST:
                        return _results_csv_response(rows, "dry-run.csv", sheet_delimiter(payload))
            else:
                outcomes, error = inbound_dry_run(source=source, raw=payload, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Dry run"),
            "form": form,
            "outcomes": outcomes,
            "rows": rows,
            "error": error,
        }
        return TemplateResponse(request, "integrations/dry_run.html", context)

    def upload_sheet_view(self, request):
        if not request.user.has_perm("integrations.upload_depot_sheet"):
            raise PermissionDenied
        form = SheetUploadForm(request.POST or None, request.FILES or None)
        rows = None
        if request.method == "POST" and form.is_valid():
            sheet, source = form.cleaned_data["sheet"], form.cleaned_data["source"]
            content = sheet.read()
            try:
                if "dry_run" in request.POST or "export" in request.POST:
                    # Tried first: the whole pipeline, rolled back (real row locks: its own permission).
                    if not request.user.has_perm("integrations.dry_run_inboundmessage"):
                        raise PermissionDenied
                    rows = depot_sheet_dry_run(source=source, content=content, user=request.user)
                    if "export" in request.POST:
                        delimiter = sheet_delimiter(csv_depot.decode(content))
                        return _results_csv_response(rows, f"dry-run-{sheet.name}", delimiter)
                else:
                    upload = depot_sheet_upload(source=source, content=content, filename=sheet.name, user=request.user)
                    return redirect(reverse("admin:integrations_sheet_results", args=[upload.pk]))
            except AdapterError as failure:
                form.add_error("sheet", str(failure))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Upload a depot sheet"),
            "form": form,
            "rows": rows,
            "may_dry_run": request.user.has_perm("integrations.dry_run_inboundmessage"),
        }
        return TemplateResponse(request, "integrations/upload_sheet.html", context)

    def _upload_for(self, request, upload_id: int) -> SheetUpload:
        if not request.user.has_perm("integrations.upload_depot_sheet"):
            raise PermissionDenied
        upload = get_object_or_404(SheetUpload.objects.select_related("source"), pk=upload_id)
        # The rows name orders: the uploader sees their own upload, others only with every order in scope.
        if upload.uploaded_by_id != request.user.pk and not sees_every_order(request.user):
            raise Http404
        return upload

    def sheet_results_view(self, request, upload_id: int):
        upload = self._upload_for(request, upload_id)
        rows = depot_sheet_upload_results(upload=upload)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Depot sheet %(filename)s") % {"filename": upload.filename},
            "upload": upload,
            "rows": rows,
            "received": sum(1 for row in rows if row.message_id and not row.duplicate),
            "problems": sum(1 for row in rows if row.is_problem),
        }
        return TemplateResponse(request, "integrations/sheet_results.html", context)

    def sheet_results_csv_view(self, request, upload_id: int):
        upload = self._upload_for(request, upload_id)
        rows = depot_sheet_upload_results(upload=upload)
        return _results_csv_response(rows, f"results-{upload.filename}", upload_delimiter(upload))

    def blank_sheet_view(self, request):
        source = None
        if request.GET.get("source", "").isdigit():
            source = SourceSystem.objects.filter(pk=request.GET["source"]).first()
        columns = [*csv_depot.COLUMNS, *csv_depot.OPTIONAL_COLUMNS]
        if source is not None and source.sheet_columns:
            # The depot's own headings where its layout names them.
            layout = sheet_layout_for(source)
            columns = [layout.columns.get(name, name) for name in columns]
        context = {"columns": columns, "rows": range(20)}
        return TemplateResponse(request, "integrations/blank_sheet.html", context)


def _results_csv_response(rows, filename: str, delimiter: str) -> HttpResponse:
    name = filename.rsplit(".", 1)[0] + ".csv"
    # A BOM: Excel then opens the UTF-8 file with its accents intact.
    response = HttpResponse("\ufeff" + row_results_csv(rows, delimiter=delimiter), content_type="text/csv")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    return response
