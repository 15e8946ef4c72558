"""Scope: which orders a person may see and work on. Every query for a person goes through here.

Scope is granted per region, site or account with object permissions (django-guardian); a
global grant of a scope permission means "every region" (or site, account). Superusers see all.
Out of scope is indistinguishable from not existing: callers answer 404.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from orders.models import Account, ContactRole, Order, OrderContact, OrderLine, Region, Site


def orders_visible_to(user, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    queryset = Order.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    regions = get_objects_for_user(user, "orders.work_in_region", klass=Region)
    accounts = get_objects_for_user(user, "orders.work_for_account", klass=Account)
    sites = get_objects_for_user(user, "orders.work_at_site", klass=Site)
    at_site = Exists(OrderLine.objects.filter(order=OuterRef("pk"), site__in=sites))
    return queryset.filter(Q(region__in=regions) | Q(account__in=accounts) | at_site)


def sees_every_order(user) -> bool:
    """Whether the person's scope is everything: a superuser, or a global grant of a scope
    permission. Records that name no order (a message nobody could parse) are theirs alone."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    # ModelBackend answers for global grants (direct or through a group); guardian never does
    # without an object.
    return any(user.has_perm(f"orders.{codename}") for codename in ("work_in_region", "work_for_account"))


def regions_visible_to(user) -> QuerySet[Region]:
    """The regions a person works in (every region for a person whose scope is everything)."""
    if sees_every_order(user):
        return Region.objects.all()
    if not user.is_authenticated:
        return Region.objects.none()
    return get_objects_for_user(user, "orders.work_in_region", klass=Region)


def sites_visible_to(user) -> QuerySet[Site]:
    """The sites a person works at: granted one by one, or in a region of theirs."""
    if sees_every_order(user):
        return Site.objects.all()
    if not user.is_authenticated:
        return Site.objects.none()
    granted = get_objects_for_user(user, "orders.work_at_site", klass=Site)
    return Site.objects.filter(Q(pk__in=granted.values("pk")) | Q(region__in=regions_visible_to(user)))


def lines_visible_to(user, queryset: QuerySet[OrderLine] | None = None) -> QuerySet[OrderLine]:
    queryset = OrderLine.objects.all() if queryset is None else queryset
    return queryset.filter(order__in=orders_visible_to(user))


def accounts_followed_by(user) -> QuerySet[Account]:
    """The accounts a customer or dealer person follows in the portal: those granted to them
    (orders.follow_account_orders on the account; never a global grant), and the customers a
    followed dealer serves."""
    if not user.is_authenticated:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    granted = get_objects_for_user(
        user, "orders.follow_account_orders", klass=Account, accept_global_perms=False, with_superuser=False
    )
    return Account.objects.filter(Q(pk__in=granted.values("pk")) | Q(dealer__in=granted.values("pk")))


def orders_visible_to_customer(user, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders a customer or dealer person sees in the portal: those of the accounts they follow."""
    queryset = Order.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(account__in=accounts_followed_by(user))


def lines_for_technician(user, queryset: QuerySet[OrderLine] | None = None) -> QuerySet[OrderLine]:
    """Lines of the orders a field technician is the technician contact of (their jobs)."""
    queryset = OrderLine.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(order__in=orders_of_technician(user))


def orders_of_technician(user) -> QuerySet[Order]:
    if not user.is_authenticated:
        return Order.objects.none()
    jobs = OrderContact.objects.filter(user=user, role=ContactRole.TECHNICIAN)
    return Order.objects.filter(pk__in=jobs.values("order_id"))
