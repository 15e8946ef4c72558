"""CSV import and export on an admin list page (reference data without the shell)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext_lazy as _

from orders.services.reference import CsvTable, ImportRefused, csv_export, csv_import


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    dry_run = forms.BooleanField(label=_("only check, write nothing"), required=False)


class CsvImportExportMixin:
    """Adds "Export CSV" (what the list shows, in the person's scope) and "Import CSV" (all rows or
    none) to a model admin. Subclasses set `csv_table`."""

    csv_table: CsvTable
    change_list_template = "admin/csv_change_list.html"

    def get_urls(self):
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}"
        return [
            path("export-csv/", self.admin_site.admin_view(self.csv_export_view), name=f"{prefix}_export_csv"),
            path("import-csv/", self.admin_site.admin_view(self.csv_import_view), name=f"{prefix}_import_csv"),
            *super().get_urls(),
        ]

    def csv_export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        text = csv_export(self.csv_table, self.get_queryset(request))
        response = HttpResponse("\ufeff" + text, content_type="text/csv")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{self.csv_table.name}.csv"
        )
        return response

    def csv_import_view(self, request):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CsvImportForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            try:
                text = form.cleaned_data["file"].read().decode("utf-8-sig")
                report = csv_import(self.csv_table, text, dry_run=form.cleaned_data["dry_run"])
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text."))
            except ImportRefused as refused:
                errors = refused.errors
            else:
                counts = {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}
                if form.cleaned_data["dry_run"]:
                    text = _("Checked, nothing written: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.")
                    messages.info(request, text % counts)
                else:
                    text = _("Imported: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.")
                    messages.success(request, text % counts)
                    opts = self.model._meta
                    return redirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import %(things)s from CSV") % {"things": self.model._meta.verbose_name_plural},
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "columns": self.csv_table.columns,
        }
        return TemplateResponse(request, "admin/csv_import.html", context)
