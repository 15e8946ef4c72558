"""Forms of the back-office screens: they check the shape of the input; the services decide."""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from orders.models import Criticality
from orders.status import LineStatus
from overrides.models import Discrepancy, OverrideReason
from overrides.policy import status_override_approval_reasons_by_target
from overrides.services.requests import JUSTIFICATION_MAX_LENGTH
from overrides.texts import approval_reason_text

EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
# Evidence people attach: documents and pictures, by file name extension.
EVIDENCE_EXTENSIONS = ("pdf", "jpg", "jpeg", "png", "heic", "gif", "tif", "tiff", "eml", "msg", "txt")
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
    assigned = forms.ChoiceField(
        label=_("Assigned to"),
        required=False,
        choices=[("", _("Anyone or nobody")), ("mine", _("Me")), ("unassigned", _("Nobody yet"))],
    )
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORTS)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", _("All regions")), *((region.code, region.name) for region in regions)]

    def filters(self) -> dict[str, str]:
        """The valid filters; an invalid one (a stale bookmark) is dropped rather than failing."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {name: cleaned.get(name) or "" for name in ("kind", "criticality", "region", "assigned", "sort")}


class SearchForm(forms.Form):
    """The header's search box: one number, as typed (a NUL character or an overlong text is a
    clear error, never a failed query)."""

    MAX_LENGTH = 80

    q = forms.CharField(
        label=_("Search"),
        max_length=MAX_LENGTH,
        error_messages={"required": _("Type a number to search for.")},
    )


class OverrideRequestForm(forms.Form):
    """Ask for a line's status to be set. Given the line, the targets leave out its current status
    and each says whether the four-eyes policy will ask a second person, and why."""

    target_status = forms.ChoiceField(
        label=_("Target status"),
        choices=[("", _("Choose a status")), *LineStatus.choices],
        help_text=_("Each status says whether it is applied at once or waits for a second person."),
    )
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=OverrideReason.objects.filter(active=True),
        to_field_name="code",
        empty_label=_("Choose a reason"),
    )
    justification = forms.CharField(
        label=_("Justification"),
        max_length=JUSTIFICATION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What happened, and how you know. The approver and the audit read this."),
    )
    evidence = forms.FileField(
        label=_("Evidence file"),
        required=False,
        help_text=_("A POD scan, an e-mail, a photo (PDF, JPEG, PNG, HEIC, TIFF, GIF, EML, MSG or text; up to 10 MB)"),
        validators=[FileExtensionValidator(EVIDENCE_EXTENSIONS)],
    )
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

    confirm_conflict = forms.BooleanField(
        label=_("Ask anyway"),
        required=False,
        help_text=_("Another request for this line is waiting for approval; the approver will see both."),
    )

    def __init__(self, *args, line=None, pending=(), reached=None, reason_choices=None, **kwargs):
        """`reached` and `reason_choices` (reason_choices()) are read once for a page of forms."""
        super().__init__(*args, **kwargs)
        self.pending = list(pending)
        if not self.pending:
            del self.fields["confirm_conflict"]
        if reason_choices is not None:
            self.fields["reason"].choices = reason_choices
        if line is not None:
            by_target = status_override_approval_reasons_by_target(line, reached=reached)
            self.fields["target_status"].choices = [
                ("", _("Choose a status")),
                *(
                    (status, _target_label(status, by_target[status]))
                    for status in LineStatus.values
                    if status in by_target
                ),
            ]

    def clean_evidence(self):
        evidence = self.cleaned_data.get("evidence")
        if evidence and evidence.size > EVIDENCE_MAX_BYTES:
            raise ValidationError(_("The file is larger than 10 MB."))
        return evidence

    def clean(self):
        cleaned = super().clean()
        if self.pending and not cleaned.get("confirm_conflict"):
            numbers = ", ".join(f"#{request.pk}" for request in self.pending)
            self.add_error(
                "confirm_conflict",
                _("Request %(numbers)s for this line is already waiting for approval. Tick “Ask anyway” to add yours.")
                % {"numbers": numbers},
            )
        return cleaned


def reason_choices() -> list[tuple[str, str]]:
    """The active reasons as the override form offers them, read once for a page of forms."""
    return [
        ("", _("Choose a reason")),
        *((reason.code, reason.label) for reason in OverrideReason.objects.filter(active=True)),
    ]


def _target_label(status: str, reasons: list[dict]) -> str:
    label = LineStatus(status).label
    if not reasons:
        return _("%(status)s · applied at once") % {"status": label}
    return _("%(status)s · a second person approves (%(reasons)s)") % {
        "status": label,
        "reasons": "; ".join(approval_reason_text(reason) for reason in reasons),
    }


class SuppressionForm(forms.Form):
    """Hide one event of the timeline from customers."""

    event = forms.ModelChoiceField(label=_("Event"), queryset=None, widget=forms.HiddenInput)
    reason = forms.ModelChoiceField(
        label=_("Reason"),
        queryset=OverrideReason.objects.filter(active=True),
        to_field_name="code",
        empty_label=_("Choose a reason"),
    )
    justification = forms.CharField(
        label=_("Justification"), max_length=JUSTIFICATION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = events


class DecisionForm(forms.Form):
    """Approve (note optional) or reject (note required: the service says so) a request."""

    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # The preview the approver confirmed (ApprovalPreview.fingerprint); blank: show the preview first.
    seen = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


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
