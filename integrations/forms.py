"""Back-office forms of the integrations app."""

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.adapters import csv_depot
from integrations.models import MessageFormat, SheetDateOrder, SourceSystem


class SourceSystemForm(forms.ModelForm):
    """The secret is write-only: leave it blank to keep it; a new one starts a rotation."""

    new_secret = forms.CharField(
        label=_("new shared secret"),
        required=False,
        min_length=16,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current secret. The previous one stays valid for 24 hours."),
    )

    poll_url = forms.URLField(label=_("poll URL"), required=False, assume_scheme="https")

    class Meta:
        model = SourceSystem
        fields = [
            "code",
            "name",
            "kind",
            "message_format",
            "transport",
            "time_zone",
            "expected_interval",
            "active",
            "mqtt_topic",
            "poll_url",
            "poll_interval",
        ]


class DryRunForm(forms.Form):
    source = forms.ModelChoiceField(queryset=SourceSystem.objects.all(), label=_("source"))
    payload = forms.CharField(label=_("payload"), widget=forms.Textarea(attrs={"rows": 18, "cols": 100}))


class SheetUploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=SourceSystem.objects.filter(message_format=MessageFormat.CSV_DEPOT, active=True),
        label=_("depot"),
    )
    sheet = forms.FileField(
        label=_("CSV sheet"),
        help_text=_(
            "The depot's own sheet as CSV (comma or semicolon). Headings such as Order No., Auftrag, "
            "Commande, Pedido, Line, Pos., Status, Date/Time or Datum and Zeit, Site, Clerk, Remarks "
            "are recognised; other headings need a column layout on the depot's source."
        ),
    )


# What each field of a depot sheet is, for the column layout form.
SHEET_FIELD_LABELS = {
    "order": _("order number"),
    "line": _("line number"),
    "status": _("status code"),
    "time": _("time (date and time, or the time of day when the date has its own column)"),
    "date": _("date (when it has its own column)"),
    "site": _("site"),
    "clerk": _("clerk"),
    "note": _("note"),
    "quantity": _("quantity"),
}


class SheetLayoutForm(forms.Form):
    """Which heading of the depot's own sheet holds which field. Blank: found by its usual names."""

    sheet_date_order = forms.ChoiceField(label=_("dates"), choices=SheetDateOrder.choices)
    sample = forms.FileField(
        label=_("sample sheet"),
        required=False,
        help_text=_("A sheet as the depot fills it in: its first rows are shown with the column each field uses."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in csv_depot.FIELDS:
            self.fields[f"column_{name}"] = forms.CharField(
                label=SHEET_FIELD_LABELS[name],
                required=False,
                max_length=100,
                widget=forms.TextInput(attrs={"list": "sheet-headings"}),
            )

    @classmethod
    def initial_for(cls, source: SourceSystem) -> dict:
        columns = source.sheet_columns or {}
        return {
            "sheet_date_order": source.sheet_date_order,
            **{f"column_{name}": columns.get(name, "") for name in csv_depot.FIELDS},
        }

    def columns(self) -> dict[str, str]:
        data = self.cleaned_data
        return {name: data[f"column_{name}"].strip() for name in csv_depot.FIELDS if data[f"column_{name}"].strip()}

    def column_fields(self):
        return [self[f"column_{name}"] for name in csv_depot.FIELDS]
