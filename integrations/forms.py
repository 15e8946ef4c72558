"""Back-office forms of the integrations app."""

from django import forms
from django.utils.translation import gettext_lazy as _

from integrations.models import MessageFormat, SourceSystem


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
    sheet = forms.FileField(label=_("CSV sheet"), help_text=_("Columns: order, line, status, time, site, clerk, note"))
