"""Admin of notifications: rules, templates (with a preview on a real order in every locale and a
test send to oneself), maintenance windows, recipients' preferences and blocked numbers, and the
delivery log, scoped like every order-related page: a person sees the messages about the orders
in their scope; messages about no order (digests, tests) only people whose scope is everything
(and their own test sends)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Lower, Replace
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from integrations.models import SourceSystem
from notifications.context import TEMPLATE_VARIABLES, preview_context
from notifications.log_labels import error_code_label, log_status_label
from notifications.models import (
    BlockedAddress,
    DeliveryLogEntry,
    MaintenanceWindow,
    MessageTemplate,
    Notification,
    NotificationRule,
    RecipientPreference,
)
from notifications.phones import E164, phone_normalised
from notifications.rendering import message_render
from notifications.services.test_sends import (
    TestSendRefused,
    phone_code_confirm,
    phone_code_send,
    test_message_send,
    test_sends_left,
    verified_phone_of,
)
from notifications.sms_length import gsm_safe, sms_length
from orders.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from orders.models import ContactRole, Criticality, OrderContact, Priority
from orders.scoping import orders_visible_to, regions_visible_to, sees_every_order, sites_visible_to
from orders.status import LineStatus

ANY = _("None ticked: any.")


class NotificationRuleForm(forms.ModelForm):
    statuses = forms.MultipleChoiceField(
        label=capfirst(_("statuses")),
        choices=LineStatus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For “status reached”: the statuses that count."),
    )
    criticalities = forms.MultipleChoiceField(
        label=capfirst(_("part criticalities")),
        choices=Criticality.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=ANY,
    )
    priorities = forms.MultipleChoiceField(
        label=capfirst(_("order priorities")),
        choices=Priority.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=ANY,
    )
    roles = forms.MultipleChoiceField(
        label=capfirst(_("recipients")),
        choices=ContactRole.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Which contacts of the order hear of it."),
    )

    class Meta:
        model = NotificationRule
        fields = [
            "name",
            "event_kind",
            "statuses",
            "criticalities",
            "priorities",
            "roles",
            "channel",
            "critical",
            "fallback_to_email",
            "throttle",
            "eta_tolerance",
            "is_active",
        ]


@admin.register(NotificationRule)
class NotificationRuleAdmin(SimpleHistoryAdmin):
    form = NotificationRuleForm
    list_display = (
        "name",
        "event_kind",
        "channel",
        "critical",
        "criticality_list",
        "priority_list",
        "role_list",
        "is_active",
    )
    list_filter = ("is_active", "event_kind", "channel", "critical")
    search_fields = ("name",)

    @admin.display(description=_("part criticalities"))
    def criticality_list(self, rule: NotificationRule) -> str:
        return _labels(rule.criticalities, Criticality)

    @admin.display(description=_("order priorities"))
    def priority_list(self, rule: NotificationRule) -> str:
        return _labels(rule.priorities, Priority)

    @admin.display(description=_("recipients"))
    def role_list(self, rule: NotificationRule) -> str:
        return _labels(rule.roles, ContactRole)


def _labels(codes: list, choices) -> str:
    """A rule's list in words ("A: equipment down or unsafe, B: ..."); an empty list is any."""
    if not codes:
        return str(_("any"))
    return ", ".join(str(choices(code).label) if code in choices.values else str(code) for code in codes)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("event_kind", "channel", "locale", "version", "is_active", "updated_at")
    list_filter = ("channel", "event_kind", "locale", "is_active")
    readonly_fields = ("version", "variables", "text_length", "preview_link")

    @admin.display(description=_("variables"))
    def variables(self, template: MessageTemplate) -> str:
        return format_html_join(", ", "<code>{{{{ {} }}}}</code>", ((name,) for name in TEMPLATE_VARIABLES))

    @admin.display(description=_("length as written"))
    def text_length(self, template: MessageTemplate) -> str:
        if not template.pk or template.channel != "sms":
            return "—"
        length = sms_length(gsm_safe(template.body_text))
        return ngettext(
            "%(units)d characters (%(encoding)s), %(segments)d segment before the variables are filled in",
            "%(units)d characters (%(encoding)s), %(segments)d segments before the variables are filled in",
            length.segments,
        ) % {
            "units": length.units,
            "encoding": length.encoding,
            "segments": length.segments,
        }

    @admin.display(description=_("preview"))
    def preview_link(self, template: MessageTemplate) -> str:
        if not template.pk:
            return _("Save the template first.")
        url = reverse("admin:notifications_messagetemplate_preview", args=[template.pk])
        return format_html('<a href="{}">{}</a>', url, _("Preview on a real order in every locale, and send a test"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="notifications_messagetemplate_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk: int):
        template = self.get_object(request, str(pk))
        if template is None or not self.has_change_permission(request, template):
            raise PermissionDenied
        form = PreviewForm(request.POST or request.GET or None, user=request.user)
        order = form.chosen_order() if form.is_valid() else _latest_order(request.user)
        previews = []
        if order is not None:
            locales = [code for code, _name in settings.LANGUAGES]
            if template.locale not in locales:
                locales.insert(0, template.locale)
            for locale in locales:
                context = preview_context(
                    order=order, kind=template.event_kind, channel=template.channel, locale=locale
                )
                edited = message_render(
                    kind=template.event_kind,
                    channel=template.channel,
                    locale=locale,
                    context=context,
                    template=template if locale == template.locale else None,
                )
                previews.append({"locale": locale, "rendered": edited, "this_template": locale == template.locale})
        if request.method == "POST" and order is not None and form.is_valid():
            return self._post(request, template, form, order)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview: %(template)s") % {"template": template},
            "template": template,
            "form": form,
            "order": order,
            "previews": previews,
            "opts": self.model._meta,
            "verified_phone": verified_phone_of(request.user),
            "test_sends_left": test_sends_left(request.user),
        }
        return TemplateResponse(request, "notifications/admin/preview.html", context)

    def _post(self, request, template: MessageTemplate, form: "PreviewForm", order):
        action = request.POST.get("action", "test")
        back = reverse("admin:notifications_messagetemplate_preview", args=[template.pk]) + f"?order={order.number}"
        try:
            if action == "send_code":
                phone = form.cleaned_data.get("phone")
                if not phone:
                    raise TestSendRefused(_("Give your phone number (E.164, e.g. +4915112345678)."))
                phone_code_send(user=request.user, phone=phone)
                messages.success(request, _("A code was sent to %(phone)s: type it below.") % {"phone": phone})
            elif action == "verify":
                preference = phone_code_confirm(user=request.user, code=request.POST.get("code", ""))
                messages.success(request, _("Your phone %(phone)s is verified.") % {"phone": preference.phone})
            else:
                notification = self._test_send(request, template, order)
                messages.success(request, _("Test sent to %(address)s.") % {"address": notification.address})
        except TestSendRefused as refusal:
            messages.error(request, str(refusal))
        return redirect(back)

    def _test_send(self, request, template: MessageTemplate, order):
        context = preview_context(
            order=order, kind=template.event_kind, channel=template.channel, locale=template.locale
        )
        rendered = message_render(
            kind=template.event_kind,
            channel=template.channel,
            locale=template.locale,
            context=context,
            template=template,
        )
        return test_message_send(
            user=request.user, rendered=rendered, order=order, channel=template.channel, locale=template.locale
        )


class PreviewForm(forms.Form):
    order = forms.CharField(label=_("order number"), required=False)
    phone = forms.CharField(
        label=_("your phone (for a test SMS)"), required=False, help_text=_("E.164, e.g. +4915112345678")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.found_order = None

    def clean_order(self):
        number = self.cleaned_data["order"].strip()
        if not number:
            return ""
        self.found_order = orders_visible_to(self.user).filter(number=number).order_by("-created_at").first()
        if self.found_order is None:
            raise forms.ValidationError(_("No order with this number in your scope."))
        return number

    def clean_phone(self):
        phone = phone_normalised(self.cleaned_data["phone"])
        if phone and not E164.match(phone):
            raise forms.ValidationError(_("Give the number with its country code, e.g. +4915112345678."))
        return phone

    def chosen_order(self):
        return self.found_order or _latest_order(self.user)


def _latest_order(user):
    return orders_visible_to(user).filter(lines__isnull=False).order_by("-created_at").distinct().first()


class MaintenanceWindowForm(forms.ModelForm):
    class Meta:
        model = MaintenanceWindow
        fields = ["name", "source_system", "region", "site", "starts_at", "ends_at", "lets_critical_through"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # A code typed wrong would hold nothing: the sources are chosen from those registered.
        codes = list(SourceSystem.objects.order_by("code").values_list("code", flat=True))
        current = self.instance.source_system
        if current and current not in codes:
            codes.append(current)
        field = self.fields["source_system"]
        self.fields["source_system"] = forms.ChoiceField(
            label=field.label,
            required=False,
            help_text=field.help_text,
            choices=[("", _("any source system")), *((code, code) for code in codes)],
        )

    def clean(self):
        cleaned = super().clean()
        if not sees_every_order(self.user) and not cleaned.get("region") and not cleaned.get("site"):
            raise forms.ValidationError(
                _(
                    "Choose a region or a site of your scope: only people who work on every region may hold "
                    "the messages of all regions."
                )
            )
        return cleaned


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Scheduled by the people of the regions and sites it holds; a window without region and
    site holds everything, so only people whose scope is everything see and schedule those."""

    form = MaintenanceWindowForm
    list_display = (
        "name",
        "starts_at",
        "ends_at",
        "source_system",
        "region",
        "site",
        "lets_critical_through",
        "summary_sent_at",
    )
    list_filter = ("lets_critical_through", "region")
    list_select_related = ("region", "site")
    readonly_fields = ("summary_sent_at",)
    autocomplete_fields = ("site",)

    def scope_queryset(self, request, queryset):
        if sees_every_order(request.user):
            return queryset
        return queryset.filter(
            Q(region__in=regions_visible_to(request.user)) | Q(site__in=sites_visible_to(request.user))
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return ScopedForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "region":
            kwargs["queryset"] = regions_visible_to(request.user)
        elif db_field.name == "site":
            kwargs["queryset"] = sites_visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _contacts_in_scope(user):
    return OrderContact.objects.filter(order__in=orders_visible_to(user))


def _phones_in_scope(user):
    """The phone numbers of the contacts on the person's orders, without separators (a subquery)."""
    phone = F("phone")
    for separator in (" ", "-", "(", ")", ".", "/"):
        phone = Replace(phone, Value(separator), Value(""))
    return _contacts_in_scope(user).exclude(phone="").annotate(plain=phone).values("plain")


class RecipientPreferenceForm(forms.ModelForm):
    class Meta:
        model = RecipientPreference
        fields = [
            "user",
            "email",
            "phone",
            "sms_enabled",
            "email_enabled",
            "quiet_start",
            "quiet_end",
            "time_zone",
            "digest_hour",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        if sees_every_order(self.user):
            return cleaned
        person, email, phone = cleaned.get("user"), cleaned.get("email") or "", cleaned.get("phone") or ""
        if person == self.user:
            return cleaned
        contacts = _contacts_in_scope(self.user)
        known = (
            (person is not None and contacts.filter(user=person).exists())
            or (email and contacts.filter(email__iexact=email).exists())
            or (phone and _phones_in_scope(self.user).filter(plain=phone_normalised(phone)).exists())
        )
        if not known:
            raise forms.ValidationError(_("No contact of an order in your scope has this user, email or phone."))
        return cleaned


@admin.register(RecipientPreference)
class RecipientPreferenceAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """A person's preferences, seen by the people whose orders name them (and by the person)."""

    form = RecipientPreferenceForm
    list_display = ("__str__", "sms_enabled", "email_enabled", "quiet_start", "quiet_end", "time_zone", "digest_hour")
    search_fields = ("email", "phone", "user__username")
    raw_id_fields = ("user",)
    readonly_fields = ("phone_verified_at",)

    def scope_queryset(self, request, queryset):
        user = request.user
        if sees_every_order(user):
            return queryset
        contacts = _contacts_in_scope(user)
        emails = contacts.exclude(email="").annotate(lowered=Lower("email")).values("lowered")
        return queryset.filter(
            Q(user=user)
            | Q(user__in=contacts.exclude(user=None).values("user"))
            | Q(email__in=emails)
            | Q(phone__in=_phones_in_scope(user))
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return ScopedForm

    def save_model(self, request, obj, form, change):
        if "phone" in form.changed_data:
            obj.phone_verified_at = None  # a new number is verified again, by its owner
        super().save_model(request, obj, form, change)


class BlockStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("blocked", _("Still blocked")), ("cleared", _("Cleared"))]

    def queryset(self, request, queryset):
        if self.value() == "blocked":
            return queryset.filter(cleared_at__isnull=True)
        if self.value() == "cleared":
            return queryset.filter(cleared_at__isnull=False)
        return queryset


class BlockedAddressForm(forms.ModelForm):
    class Meta:
        model = BlockedAddress
        fields = ["channel", "address", "reason", "detail", "blocked_at"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_address(self):
        address = phone_normalised(self.cleaned_data["address"])
        in_scope = _phones_in_scope(self.user).filter(plain=address).exists()
        if not sees_every_order(self.user) and not in_scope:
            raise forms.ValidationError(_("No contact of an order in your scope has this number."))
        return address


@admin.register(BlockedAddress)
class BlockedAddressAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    """Numbers not to be used, seen and cleared by the people whose orders' contacts have them."""

    form = BlockedAddressForm
    list_display = ("address", "reason", "detail", "blocked_at", "cleared_at", "cleared_by")
    list_filter = ("reason", BlockStateFilter)
    search_fields = ("address",)
    readonly_fields = ("cleared_at", "cleared_by")
    actions = ["clear"]

    def scope_queryset(self, request, queryset):
        if sees_every_order(request.user):
            return queryset
        return queryset.filter(address__in=_phones_in_scope(request.user))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class ScopedForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return ScopedForm

    @admin.action(description=_("Clear: the number may be used again"), permissions=["change"])
    def clear(self, request, queryset):
        cleared = 0
        for block in queryset.filter(cleared_at__isnull=True):
            block.cleared_at, block.cleared_by = timezone.now(), request.user
            block.save()
            cleared += 1
        self.message_user(
            request, ngettext("%(count)d number cleared.", "%(count)d numbers cleared.", cleared) % {"count": cleared}
        )


def _notifications_in_scope(user, queryset):
    if sees_every_order(user):
        return queryset
    visible = orders_visible_to(user)
    # A digest or catch-up summary names no order: it is seen by the people of the orders it carried.
    carried = Exists(Notification.objects.filter(folded_into=OuterRef("pk"), order__in=visible))
    return queryset.filter(Q(order__in=visible) | carried | Q(order__isnull=True, created_by=user))


@admin.display(description=_("step"), ordering="status")
def log_step(entry: DeliveryLogEntry) -> str:
    return entry.status_label


@admin.display(description=_("error"), ordering="error_code")
def log_error(entry: DeliveryLogEntry) -> str:
    return entry.error_label or "—"


class LogStepFilter(admin.SimpleListFilter):
    """The steps found in the log, in words."""

    title = _("step")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        codes = model_admin.get_queryset(request).order_by().values_list("status", flat=True).distinct()
        return sorted(((code, log_status_label(code)) for code in codes), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


class DeliveryLogInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryLogEntry
    fields = ("at", log_step, "provider_id", log_error, "detail")
    readonly_fields = fields
    extra = 0


@admin.register(Notification)
class NotificationAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "order",
        "recipient_name",
        "address",
        "channel",
        "status",
        "template_version",
        "provider_id",
    )
    list_filter = ("status", "channel", "kind", "critical")
    list_select_related = ("order",)
    search_fields = ("address", "provider_id", "order__number")
    date_hierarchy = "created_at"
    inlines = [DeliveryLogInline]
    exclude = ("claim_token", "error_code")
    readonly_fields = ("error",)

    @admin.display(description=_("error code"))
    def error(self, notification: Notification) -> str:
        return error_code_label(notification.error_code) or "—"

    raw_id_fields = (
        "order",
        "line",
        "contact",
        "folded_into",
        "fallback_for",
        "held_by",
        "template",
        "rule",
        "created_by",
    )

    def scope_queryset(self, request, queryset):
        return _notifications_in_scope(request.user, queryset)


@admin.register(DeliveryLogEntry)
class DeliveryLogEntryAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "notification", log_step, "provider_id", log_error, "detail")
    list_filter = (LogStepFilter,)
    list_select_related = ("notification",)
    search_fields = ("provider_id", "notification__address", "notification__order__number")
    ordering = ("-at", "-id")
    raw_id_fields = ("notification",)

    def scope_queryset(self, request, queryset):
        visible = _notifications_in_scope(request.user, Notification.objects.all())
        return queryset.filter(notification__in=visible)
