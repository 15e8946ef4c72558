"""The Django admin's front door and its list of people.

The admin is for integrators, administrators and superusers (staff). Planners, supervisors and
auditors who sign in there are told, in their language, that their work is in the back office,
with the way there, instead of Django's "enter the correct username and password for a staff
account" or "not authorized". The people the admin lists are real people: never the technical
user django-guardian keeps for anonymous visitors."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from config.sign_in_limits import RefusedSignInForm
from overrides.selectors import real_people

NOT_FOR_THE_ADMIN = _(
    "The admin is for integrators and administrators. Planners, supervisors and auditors work in the "
    "back office: sign in there with the same username and password."
)


class AdminSignInForm(RefusedSignInForm, AdminAuthenticationForm):
    """Django's admin sign-in, telling someone with a valid back-office account where to go."""

    error_messages = {**AdminAuthenticationForm.error_messages, "back_office": NOT_FOR_THE_ADMIN}
    belongs_in_back_office = False

    def confirm_login_allowed(self, user) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)  # an inactive account is refused as usual
        if not user.is_staff:
            self.belongs_in_back_office = True
            raise ValidationError(self.error_messages["back_office"], code="back_office")


class PeopleUserAdmin(UserAdmin):
    """Django's user admin without guardian's anonymous user: its list, search and the pickers
    that open it (raw id lookups, autocompletes) show real people only."""

    def get_queryset(self, request):
        return real_people(super().get_queryset(request))


def install(site: admin.AdminSite) -> None:
    site.login_form = AdminSignInForm
    user_model = get_user_model()
    if site.is_registered(user_model):
        site.unregister(user_model)
    site.register(user_model, PeopleUserAdmin)
