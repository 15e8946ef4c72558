"""Scope: which orders a person may see and work on. Every query for a person goes through here.

Scope is granted per region, site or account with object permissions (django-guardian); a
global grant of a scope permission means "every region" (or site, account). Superusers see all.
Out of scope is indistinguishable from not existing: callers answer 404.
"""

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from guardian.models import GroupObjectPermission, UserObjectPermission
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
    (orders.follow_account_orders on the account, to them or to a group of theirs; never a
    global grant), and the customers a followed dealer serves."""
    if not user.is_authenticated:
        return Account.objects.none()
    if user.is_superuser:
        return Account.objects.all()
    return Account.objects.filter(pk__in=_followed_account_ids(user))


def orders_visible_to_customer(user, queryset: QuerySet[Order] | None = None) -> QuerySet[Order]:
    """Orders a customer or dealer person sees in the portal: those of the accounts they follow."""
    queryset = Order.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(account_id__in=_followed_account_ids(user))


# The portal's scope is read on every portal request: written as one plain subquery (the same
# rule as guardian's get_objects_for_user(..., accept_global_perms=False), by user and by group),
# so that the page's one query checks it without building guardian's querysets each time.
def _granted_account_ids(user) -> tuple[str, tuple]:
    """SQL of the ids of the accounts granted to the person (follow_account_orders)."""
    tables = {
        "user_perm": UserObjectPermission._meta.db_table,
        "group_perm": GroupObjectPermission._meta.db_table,
        "user_groups": user._meta.get_field("groups").remote_field.through._meta.db_table,
        "permission_table": Permission._meta.db_table,
        "content_type": ContentType._meta.db_table,
    }
    permission = (
        "SELECT p.id FROM {permission_table} p JOIN {content_type} t ON t.id = p.content_type_id "
        "WHERE t.app_label = %s AND t.model = %s AND p.codename = %s"
    ).format(**tables)
    sql = (
        "SELECT CAST(u.object_pk AS bigint) FROM {user_perm} u "
        "WHERE u.user_id = %s AND u.permission_id IN ({permission}) "
        "UNION SELECT CAST(g.object_pk AS bigint) FROM {group_perm} g "
        "JOIN {user_groups} m ON m.group_id = g.group_id "
        "WHERE m.user_id = %s AND g.permission_id IN ({permission})"
    ).format(permission=permission, **tables)
    what = ("orders", "account", "follow_account_orders")
    return sql, (user.pk, *what, user.pk, *what)


def followed_accounts_with(user) -> tuple[str, tuple]:
    """A WITH clause naming `scope_followed (id, kind)`: the accounts the person follows (the rule
    of accounts_followed_by), for a query written by hand that reads them more than once (its
    scope and its dealer flag). Each part is planned once: as plain subqueries repeated, the
    portal order page's query took PostgreSQL three times as long to plan as to run."""
    account = Account._meta.db_table
    if not user.is_authenticated:
        return f"WITH scope_followed AS (SELECT a.id, a.kind FROM {account} a WHERE 1 = 0)", ()
    if user.is_superuser:
        return f"WITH scope_followed AS (SELECT a.id, a.kind FROM {account} a)", ()
    granted, params = _granted_account_ids(user)
    sql = (
        f"WITH scope_granted (id) AS ({granted}), "
        f"scope_followed AS (SELECT a.id, a.kind FROM {account} a "
        "WHERE a.id IN (SELECT id FROM scope_granted) OR a.dealer_id IN (SELECT id FROM scope_granted))"
    )
    return sql, params


def _followed_account_ids(user) -> RawSQL:
    sql, params = _granted_account_ids(user)
    account = Account._meta.db_table
    return RawSQL(f"SELECT a.id FROM {account} a WHERE a.id IN ({sql}) OR a.dealer_id IN ({sql})", params + params)


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
