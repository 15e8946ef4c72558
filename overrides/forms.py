"""Forms of the back-office screens: they check the shape of the input; the services decide."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from orders.models import Criticality
from orders.status import LineStatus
from overrides.models import Discrepancy, OverrideReason

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
STALE = "stale"


class QueueFilterForm(forms.Form):
    """Filters and order of the exception queue, read from the query string."""

    SORTS = [
        ("criticality", _("Criticality")),
        ("age", _("Age (oldest first)")),
        ("region", _("Region")),
    ]

    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), (STALE, _("Stale status")), *Discrepancy.Kind.choices],
    )
    criticality = forms.ChoiceField(
        label=_("Criticality"), required=False, choices=[("", _("A, B and C")), *Criticality.choices]
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("All regions")), *((region.code, region.name) for region in regions)]

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid one (a stale bookmark) is dropped rather than failing."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) or "" for name in ("kind", "criticality", "region", "sort")}


class OverrideRequestForm(forms.Form):
    target_status = forms.ChoiceField(
        label=_("Target status"), choices=[("", _("Choose a status")), *LineStatus.choices]
    )
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=OverrideReason.objects.filter(active=True),
        to_field_name="code",
        empty_label=_("Choose a reason"),
    )
    justification = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened, and how you know. The approver and the audit read this."),
    )
    evidence = forms.FileField(label=_("Evidence file"), required=False, help_text=_("A POD scan, an e-mail, a photo"))
    evidence_reference = forms.CharField(
        label=_("Evidence reference"),
        max_length=200,
        required=False,
        help_text=_("e.g. a proof-of-delivery number or a ticket"),
    )
    hold_until_source_confirms = forms.BooleanField(
        label=_("Hold until a source confirms"),
        required=False,
        help_text=_("A later source message that disagrees opens a discrepancy instead of changing the status."),
    )

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence and evidence.size > EVIDENCE_MAX_BYTES:
            raise ValidationError(_("The file is larger than 10 MB."))
        return evidence


class SuppressionForm(forms.Form):
    """Hide one event of the timeline from customers."""

    event = forms.ModelChoiceField(label=_("Event"), queryset=None, widget=forms.HiddenInput)
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=OverrideReason.objects.filter(active=True),
        to_field_name="code",
        empty_label=_("Choose a reason"),
    )
    justification = forms.CharField(label=_("Justification"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = events


class DecisionForm(forms.Form):
    """Approve (note optional) or reject (note required: the service says so) a request."""

    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


def add_service_errors(form: forms.Form, error: ValidationError, *, aliases: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: on the field it names when the form has
    it (through `aliases` when the service calls it otherwise), else above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    aliases = aliases or {}
    for name, messages in error.message_dict.items():
        field = aliases.get(name, name)
        form.add_error(field if field in form.fields else None, messages)
