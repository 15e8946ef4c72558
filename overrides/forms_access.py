"""Forms of the access-review screen."""

from django import forms
from django.utils.translation import gettext_lazy as _

from overrides.models import AccessReviewItem


class AccessDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("decision"),
        choices=[
            (AccessReviewItem.Decision.CERTIFIED, _("Certify")),
            (AccessReviewItem.Decision.REVOKED, _("Revoke")),
        ],
    )
