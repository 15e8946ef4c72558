"""Forms of the portal and the technician pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import LinkAudience, LinkPurpose


class LinkIssueForm(forms.Form):
    audience = forms.ChoiceField(label=_("For"), choices=LinkAudience.choices)
    purpose = forms.ChoiceField(label=_("Allows"), choices=LinkPurpose.choices, initial=LinkPurpose.VIEW)
    line = forms.ChoiceField(label=_("Line"), required=False)

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line"].choices = [("", _("The whole order"))] + [
            (line["public_id"], f"{line['number']} · {line['part_number']}") for line in lines
        ]


class ConfirmationForm(forms.Form):
    """What the technician page (and its offline queue) sends."""

    key = forms.CharField(max_length=64)
    line = forms.UUIDField()
    code = forms.CharField(label=_("Barcode"), max_length=120)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    confirmed_at = forms.DateTimeField()
    decision = forms.CharField(required=False, max_length=20)
    photo = forms.FileField(label=_("Photo"), required=False)
