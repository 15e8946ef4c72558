"""Forms of the portal and the technician pages."""

from django import forms
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

from portal.models import LINK_ALLOWS, LINK_FOR_WHOM, LinkAudience, LinkPurpose

PHOTO_EXTENSIONS = FileExtensionValidator(["jpg", "jpeg", "png", "webp", "heic"])


class LinkIssueForm(forms.Form):
    """A link a portal person hands on: never more than they may see themselves. The customer
    audience only (a technician's link shows site, carrier and contacts, and may confirm a
    delivery: those come from the back office and the technician's messages), to view only."""

    audience = forms.ChoiceField(
        label=_("Who it is for"),
        choices=[(LinkAudience.CUSTOMER.value, LINK_FOR_WHOM[LinkAudience.CUSTOMER])],
        required=False,
    )
    purpose = forms.ChoiceField(
        label=_("What it allows"), choices=[(LinkPurpose.VIEW.value, LINK_ALLOWS[LinkPurpose.VIEW])], required=False
    )
    # A line number as printed ("20", "10.1"); blank: the whole order. Typed rather than chosen
    # from a list: an order of hundreds of lines would load and render them all on every view.
    line = forms.CharField(
        label=_("Line"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": _("The whole order")}),
    )


class ConfirmationForm(forms.Form):
    """What the technician page (and its offline queue) sends."""

    key = forms.CharField(max_length=64)
    line = forms.UUIDField()
    code = forms.CharField(label=_("Barcode"), max_length=120)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    confirmed_at = forms.DateTimeField()
    decision = forms.CharField(required=False, max_length=20)
    # Only image files are kept: anything else served back from the media storage (an .html or
    # .svg "photo") would run in the reader's browser.
    photo = forms.FileField(label=_("Photo"), required=False, validators=[PHOTO_EXTENSIONS])
