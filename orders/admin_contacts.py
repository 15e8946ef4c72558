"""The people of an order on its admin page: requester, technician and planner, with how to
reach them (email, phone in E.164), their language and time zone, and a link to their channel
preferences and quiet hours (which follow the person across orders).

Scoped with the order: the inline is only ever shown on an order the person may open. A contact's
user account is chosen among the people already named on orders in the person's scope (and the
person): linking a technician's account opens the order's technician pages to them, so nobody
links an account they do not know of."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from orders.models import OrderContact
from orders.scoping import orders_visible_to, sees_every_order
from orders.services.contacts import language_checked, phone_checked


class OrderContactForm(forms.ModelForm):
    class Meta:
        model = OrderContact
        fields = ("role", "name", "email", "phone", "language", "time_zone", "user")
        # Narrow enough that a contact fits on one row of the order page.
        widgets = {
            "name": forms.TextInput(attrs={"size": 18}),
            "email": forms.EmailInput(attrs={"size": 24}),
            "phone": forms.TextInput(attrs={"size": 15}),
            "language": forms.TextInput(attrs={"size": 5}),
            "time_zone": forms.TextInput(attrs={"size": 16}),
        }
        help_texts = {
            "phone": _("With its country code, e.g. +4915112345678."),
            "language": _("de, en, fr, es or a variant such as fr-CA; blank: the account's."),
            "time_zone": _("e.g. Europe/Berlin; blank: UTC."),
        }

    def clean_phone(self) -> str:
        return phone_checked(self.cleaned_data.get("phone") or "")

    def clean_language(self) -> str:
        return language_checked(self.cleaned_data.get("language") or "")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("DELETE"):
            return cleaned
        if self.has_changed() and not (cleaned.get("email") or cleaned.get("phone")) and not self.errors:
            raise ValidationError(_("Give an email address or a phone number: a contact must be reachable."))
        return cleaned


def users_choosable_by(person):
    """Accounts a person may link to a contact: everyone's for a person whose scope is
    everything; else the people already named on orders of their scope, and themselves."""
    users = get_user_model().objects.filter(is_active=True)
    if sees_every_order(person):
        return users.order_by("username")
    named = OrderContact.objects.filter(order__in=orders_visible_to(person), user__isnull=False).values("user")
    return users.filter(Q(pk__in=named) | Q(pk=person.pk)).order_by("username")


class OrderContactInline(admin.TabularInline):
    model = OrderContact
    form = OrderContactForm
    fields = ("role", "name", "email", "phone", "language", "time_zone", "user", "preferences")
    readonly_fields = ("preferences",)
    extra = 0
    verbose_name_plural = _("contacts (who hears of this order)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = users_choosable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None:
            # An account is chosen here, never made or changed from a contact's row.
            for link in ("can_add_related", "can_change_related", "can_delete_related", "can_view_related"):
                setattr(field.widget, link, False)
        return field

    @admin.display(description=_("channels and quiet hours"))
    def preferences(self, contact: OrderContact) -> str:
        """Where the person's channel preferences are kept (notifications, when installed)."""
        if contact.pk is None:
            return "—"
        try:
            url = reverse("admin:notifications_recipientpreference_changelist")
        except NoReverseMatch:
            return "—"
        search = contact.email or contact.phone or (contact.user.get_username() if contact.user_id else "")
        return format_html('<a href="{}?{}">{}</a>', url, urlencode({"q": search}), _("preferences"))


class OrderContactAdminBase(admin.ModelAdmin):
    """Every contact of the orders in the person's scope, found by name, email or phone (the
    scoping itself is the order admin's mixin, added where this is registered)."""

    form = OrderContactForm
    list_display = ("name", "role", "order", "email", "phone", "language", "time_zone")
    list_filter = ("role", "language")
    list_select_related = ("order",)
    search_fields = ("name", "email", "phone", "order__number")
    autocomplete_fields = ("order",)
    fields = ("order", "role", "name", "email", "phone", "language", "time_zone", "user")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["order"].queryset = orders_visible_to(request.user)  # a contact only on an order in scope
        if "user" in form.base_fields:
            form.base_fields["user"].queryset = users_choosable_by(request.user)
        return form
