"""Admin of notifications: rules, templates (with a preview on a real order in every locale and a
test send to oneself), maintenance windows, recipients' preferences and blocked numbers, and the
delivery log, scoped like every order-related page: a person sees the messages about the orders
in their scope; messages about no order (digests, tests) only people whose scope is everything
(and their own test sends)."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from notifications.context import preview_context
from notifications.models import (
    BlockedAddress,
    DeliveryLogEntry,
    MaintenanceWindow,
    MessageTemplate,
    Notification,
    NotificationRule,
    RecipientPreference,
)
from notifications.rendering import message_render
from notifications.services.batches import notification_test_send
from notifications.sms_length import gsm_safe, sms_length
from orders.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from orders.models import ContactRole, Criticality, Priority
from orders.scoping import orders_visible_to, sees_every_order
from orders.status import LineStatus


class NotificationRuleForm(forms.ModelForm):
    statuses = forms.MultipleChoiceField(
        label=_("statuses"), choices=LineStatus.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    criticalities = forms.MultipleChoiceField(
        label=_("part criticalities"), choices=Criticality.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    priorities = forms.MultipleChoiceField(
        label=_("order priorities"), choices=Priority.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    roles = forms.MultipleChoiceField(
        label=_("recipients"), choices=ContactRole.choices, widget=forms.CheckboxSelectMultiple
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
    list_display = ("name", "event_kind", "channel", "critical", "criticalities", "priorities", "roles", "is_active")
    list_filter = ("is_active", "event_kind", "channel", "critical")
    search_fields = ("name",)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(SimpleHistoryAdmin):
    list_display = ("event_kind", "channel", "locale", "version", "is_active", "updated_at")
    list_filter = ("channel", "event_kind", "locale", "is_active")
    readonly_fields = ("version", "text_length", "preview_link")

    @admin.display(description=_("length as written"))
    def text_length(self, template: MessageTemplate) -> str:
        if not template.pk or template.channel != "sms":
            return "—"
        length = sms_length(gsm_safe(template.body_text))
        return _("%(units)d characters (%(encoding)s), %(segments)d segment(s) before the variables are filled in") % {
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
            return self._test_send(request, template, form, order)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Preview: %(template)s") % {"template": template},
            "template": template,
            "form": form,
            "order": order,
            "previews": previews,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "notifications/admin/preview.html", context)

    def _test_send(self, request, template: MessageTemplate, form: "PreviewForm", order):
        address = form.cleaned_data.get("phone") if template.channel == "sms" else request.user.email
        if not address:
            field = "phone" if template.channel == "sms" else None
            form.add_error(
                field, _("Give a phone number for the test SMS.") if field else _("Your user has no email address.")
            )
            messages.error(request, _("The test was not sent."))
            return redirect(request.get_full_path())
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
        notification_test_send(
            user=request.user,
            rendered=rendered,
            order=order,
            channel=template.channel,
            address=address,
            locale=template.locale,
        )
        messages.success(request, _("Test sent to %(address)s.") % {"address": address})
        return redirect(
            reverse("admin:notifications_messagetemplate_preview", args=[template.pk]) + f"?order={order.number}"
        )


class PreviewForm(forms.Form):
    order = forms.CharField(label=_("order number"), required=False)
    phone = forms.RegexField(
        label=_("your phone (for a test SMS)"),
        regex=r"^\+[1-9]\d{7,14}$",
        required=False,
        help_text=_("E.164, e.g. +4915112345678"),
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

    def chosen_order(self):
        return self.found_order or _latest_order(self.user)


def _latest_order(user):
    return orders_visible_to(user).filter(lines__isnull=False).order_by("-created_at").distinct().first()


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(SimpleHistoryAdmin):
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


@admin.register(RecipientPreference)
class RecipientPreferenceAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "sms_enabled", "email_enabled", "quiet_start", "quiet_end", "time_zone", "digest_hour")
    search_fields = ("email", "phone", "user__username")
    raw_id_fields = ("user",)


@admin.register(BlockedAddress)
class BlockedAddressAdmin(SimpleHistoryAdmin):
    list_display = ("address", "reason", "detail", "blocked_at", "cleared_at", "cleared_by")
    list_filter = ("reason", ("cleared_at", admin.EmptyFieldListFilter))
    search_fields = ("address",)
    readonly_fields = ("cleared_at", "cleared_by")
    actions = ["clear"]

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
    return queryset.filter(Q(order__in=orders_visible_to(user)) | Q(order__isnull=True, created_by=user))


class DeliveryLogInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryLogEntry
    fields = ("at", "status", "provider_id", "error_code", "detail")
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
    exclude = ("claim_token",)
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
    list_display = ("at", "notification", "status", "provider_id", "error_code", "detail")
    list_filter = ("status",)
    list_select_related = ("notification",)
    search_fields = ("provider_id", "notification__address")
    raw_id_fields = ("notification",)

    def scope_queryset(self, request, queryset):
        visible = _notifications_in_scope(request.user, Notification.objects.all())
        return queryset.filter(notification__in=visible)
