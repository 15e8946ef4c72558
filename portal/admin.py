"""Admin of the portal's records: branding per account, and status links with their opens,
fresh-link requests and technicians' confirmations, each limited to the person's scope (the
orders they may see) like every order-related page. Links are revoked and rotated here too."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from orders.admin import ReadOnlyAdminMixin, ScopedAdminMixin
from orders.scoping import orders_visible_to
from portal.models import DeliveryConfirmation, LinkRenewalRequest, PortalProfile, StatusLink, StatusLinkOpen
from portal.services.links import status_link_expiry_change, status_link_revoke, status_link_rotate

REPLACE_LINKS = _("Replace the selected links (a new address each; the old one stops working)")


@admin.register(PortalProfile)
class PortalProfileAdmin(admin.ModelAdmin):
    list_display = ["brand_name", "account", "support_email", "support_phone", "status_link_days"]
    autocomplete_fields = ["account"]
    search_fields = ["brand_name", "account__name", "account__number"]


class StatusLinkOpenInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StatusLinkOpen
    fields = ["opened_at", "outcome", "ip_prefix", "user_agent"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    ordering = ["-opened_at"]


@admin.register(StatusLink)
class StatusLinkAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """A link's expiry is the one thing staff who may change links edit here (a revoked or
    replaced link's stays as it is: it never opens again); the link records the change (when, by
    whom, the expiry before), as it records a revocation. Everything else is what was issued. The
    token's hash is never shown."""

    list_display = ["public_id", "order", "line", "audience", "purpose", "expires_at", "revoked_at", "last_opened_at"]
    list_filter = ["audience", "purpose"]
    search_fields = ["order__number", "=public_id"]
    list_select_related = ["order", "line"]
    fields = [
        "public_id",
        "order",
        "line",
        "audience",
        "purpose",
        "issued_by",
        "issued_at",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "replaced_by",
        "expiry_changed_at",
        "expiry_changed_by",
        "expires_at_before_change",
        "sent_by_email_to",
        "sent_by_sms_to",
        "sms_undelivered",
        "last_opened_at",
    ]
    readonly_fields = [field for field in fields if field != "expires_at"]
    inlines = [StatusLinkOpenInline]
    actions = ["revoke", "rotate"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.revoked_at is not None:
            return self.fields
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        # Only the expiry, through the service: a revocation or an opening saved since the form
        # was read is never written back over.
        if "expires_at" not in form.changed_data:
            return
        try:
            status_link_expiry_change(link=obj, expires_at=form.cleaned_data["expires_at"], changed_by=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)

    def scope_queryset(self, request, queryset):
        return queryset.filter(order__in=orders_visible_to(request.user))

    def has_add_permission(self, request) -> bool:
        # Issued from the portal, by notifications or `manage.py status_link_issue`: the token
        # is shown once where it is made.
        return False

    @admin.action(description=_("Revoke the selected links"), permissions=["change"])
    def revoke(self, request, queryset):
        for link in queryset:
            status_link_revoke(link=link, revoked_by=request.user)
        self.message_user(request, _("Links revoked."), messages.SUCCESS)

    @admin.action(description=REPLACE_LINKS, permissions=["change"])
    def rotate(self, request, queryset):
        rotated = []
        for link in queryset.filter(revoked_at__isnull=True).select_related("order"):
            issued = status_link_rotate(link=link, rotated_by=request.user)
            rotated.append({"order": link.order, "url": request.build_absolute_uri(issued.path)})
        # The new links are shown once, in this answer only: a message would keep the token in
        # the messages cookie or the session until it is shown.
        context = {
            **self.admin_site.each_context(request),
            "title": REPLACE_LINKS,
            "rotated": rotated,
            "opts": self.model._meta,
        }
        response = TemplateResponse(request, "admin/portal/statuslink/rotated.html", context)
        response["Cache-Control"] = "private, no-store"
        return response


@admin.register(LinkRenewalRequest)
class LinkRenewalRequestAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["requested_at", "link", "ip_prefix", "published"]
    list_select_related = ["link"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(link__order__in=orders_visible_to(request.user))


@admin.register(DeliveryConfirmation)
class DeliveryConfirmationAdmin(ScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "line", "quantity", "state", "technician", "conflict"]
    list_filter = ["state"]
    list_select_related = ["line__order", "technician"]

    def scope_queryset(self, request, queryset):
        return queryset.filter(line__order__in=orders_visible_to(request.user))
