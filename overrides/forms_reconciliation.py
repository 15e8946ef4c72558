"""Forms of the reconciliation screen: start a run, choose the corrections to apply."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.models import SourceSystem


class ReconciliationStartForm(forms.Form):
    source = forms.ModelChoiceField(queryset=SourceSystem.objects.all(), to_field_name="code", label=_("Source"))
    since = forms.DateTimeField(
        label=_("Received since"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    until = forms.DateTimeField(
        label=_("Received until"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The times typed are read in the viewer's time zone: say which one.
        zone = _("In your time zone, %(zone)s.") % {"zone": timezone.get_current_timezone_name()}
        self.fields["since"].help_text = zone
        blank = _("Blank: now")
        self.fields["until"].help_text = f"{blank}. {zone}"

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", _("The end of the window must come after its start."))
        return cleaned


class ReconciliationApplyForm(forms.Form):
    """The corrections chosen among the run's pending mismatches the person may see."""

    items = forms.ModelMultipleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        label=_("Corrections"),
        error_messages={"required": _("Choose at least one correction to apply.")},
    )

    def __init__(self, *args, pending_items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].queryset = pending_items
