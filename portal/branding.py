"""Whose brand a page wears: the order's account's (its own profile, its dealer's or the OEM's)
on an order's pages; the signed-in person's everywhere else (the account they follow, a dealer's
own, or the account of a technician's job); before signing in, the brand of the page asked for
(`next`), else the OEM's. Cached; saving or deleting a profile shows at once."""

import re
import secrets
from uuid import UUID

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils.functional import SimpleLazyObject

from orders.models import Account, Order, OrderLine
from orders.scoping import accounts_followed_by, orders_of_technician
from portal.models import PortalProfile, logo_url_is_safe
from portal.services.links import portal_profile_for

BRANDING_CACHE_SECONDS = 300
GENERATION_KEY = "portal-branding-generation"
# Pages whose brand a sign-in page may wear: the order or part its `next` names.
NEXT_PAGE = re.compile(r"^/(portal/orders|tech/parts)/([0-9a-fA-F-]{36})/")


def _generation() -> str:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, _new_generation(), None)
        generation = cache.get(GENERATION_KEY)
    return generation


def _new_generation() -> str:
    # Random, not counted: a generation lost from the cache never comes back as an earlier one
    # (whose brands and pages may still be cached).
    return secrets.token_hex(8)


def branding_forget(**kwargs) -> None:
    """Every cached brand (and page wearing one) is stale: a profile was saved or deleted, or an
    account moved to another dealer. A new generation now, and again once committed: a page
    read between the two may have cached the brand as it was before."""

    def forget() -> None:
        cache.set(GENERATION_KEY, _new_generation(), None)

    forget()
    transaction.on_commit(forget, robust=True)


def _account_saved(sender, instance: Account, created: bool, **kwargs) -> None:
    """An account moved to another dealer wears that dealer's brand (when it has none itself)."""
    if not created and getattr(instance, "_dealer_before", instance.dealer_id) != instance.dealer_id:
        branding_forget()


def branding(account) -> dict:
    """The account's branding (its own, its dealer's or the OEM's; the OEM's for None)."""
    return account_branding(account.pk if account is not None else None, account=account)


def account_branding(account_id: int | None, *, account=None) -> dict:
    """The branding of the account of `account_id` (None: the OEM's); the account is read only
    when its branding is not cached."""
    key = f"portal-branding:{_generation()}:{account_id if account_id is not None else 'oem'}"
    brand = cache.get(key)
    if brand is None:
        if account is None and account_id is not None:
            account = Account.objects.filter(pk=account_id).first()
        brand = _branding(account)
        cache.set(key, brand, BRANDING_CACHE_SECONDS)
    return brand


def _branding(account) -> dict:
    if account is not None:
        profile = portal_profile_for(account)
    else:
        profile = PortalProfile.objects.filter(account__isnull=True).first()
    if profile is None:
        return {}
    return {
        "name": profile.brand_name,
        "logo_url": profile.logo_url if logo_url_is_safe(profile.logo_url) else "",
        "primary": profile.colour_primary,
        "accent": profile.colour_accent,
        "support_email": profile.support_email,
        "support_phone": profile.support_phone,
        "support_hours": profile.support_hours,
    }


def viewer_account(request):
    """The account whose brand the request's pages wear when no order says (None: the OEM's)."""
    user = request.user
    if user.is_authenticated:
        followed = accounts_followed_by(user).order_by("-kind", "pk").first()  # a dealer's own first
        if followed is not None:
            return followed
        job = orders_of_technician(user).select_related("account").order_by("pk").first()
        return job.account if job is not None else None
    found = NEXT_PAGE.match(request.GET.get("next", ""))
    if found is None:
        return None
    try:
        public_id = UUID(found.group(2))
    except ValueError:
        return None
    if found.group(1) == "portal/orders":
        order = Order.objects.filter(public_id=public_id).select_related("account").first()
    else:
        line = OrderLine.objects.filter(public_id=public_id).select_related("order__account").first()
        order = line.order if line is not None else None
    return order.account if order is not None else None


def brand(request) -> dict:
    """Context processor: `brand` for every page (an order's page passes its own instead)."""
    return {"brand": SimpleLazyObject(lambda: branding(viewer_account(request)))}


def connect() -> None:
    post_save.connect(branding_forget, sender=PortalProfile, dispatch_uid="portal-branding-saved")
    post_delete.connect(branding_forget, sender=PortalProfile, dispatch_uid="portal-branding-deleted")
    # portal.access remembers the dealer before the save (_dealer_before).
    post_save.connect(_account_saved, sender=Account, dispatch_uid="portal-branding-account-saved")
