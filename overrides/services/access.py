"""Access reviews: who holds a sensitive power, through what, and when they last used it; an
auditor certifies each grant or revokes it (never their own)."""

import json
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import remove_perm

from orders.models import EventSuppression, StatusEvent
from overrides.access_scopes import access_scopes_text
from overrides.models import AccessReview, AccessReviewItem, OverrideRequest, ReconciliationRun
from overrides.roles import role_label
from overrides.texts import coded

OVERRIDE = "orders.override_line_status"
APPROVE = "overrides.approve_overriderequest"
SUPPRESS = "orders.suppress_statusevent"
APPLY_RECONCILIATION = "overrides.apply_reconciliationrun"
# The sensitive powers an access review covers, with the words a reviewer reads.
POWERS = {
    OVERRIDE: gettext_lazy("override line statuses"),
    APPROVE: gettext_lazy("approve overrides"),
    SUPPRESS: gettext_lazy("hide status events from customers"),
    APPLY_RECONCILIATION: gettext_lazy("apply reconciliations"),
}

# How a grant is held, as stored in AccessReviewItem.via: revoking removes exactly that.
VIA_DIRECT = "direct"
VIA_SUPERUSER = "superuser"
VIA_GROUP = "group "  # + the group's name
VIA_OBJECT = "object "  # + "app_label.model:pk" of the object the permission is on


@dataclass(frozen=True)
class AccessGrant:
    user: object
    power: str
    via: str
    scopes: tuple = ()  # coded entries (overrides.access_scopes): where the power acts
    last_used_at: datetime | None = None

    @property
    def scope(self) -> str:
        """The scopes in the reader's language."""
        return access_scopes_text(list(self.scopes))

    @property
    def power_label(self) -> str:
        return access_power_label(self.power)

    @property
    def via_label(self) -> str:
        return access_via_label(self.via)


def access_grants() -> list[AccessGrant]:
    """Every (active user, sensitive power) pair and how it is held: directly, through a group
    (named), as an object permission (the object named) or as a superuser; with its last use."""
    permissions = _sensitive_permissions()
    found = [
        *_direct_grants(permissions),
        *_group_grants(permissions),
        *_object_grants(permissions),
        *_superuser_grants(),
    ]
    user_ids = {user.pk for user, *_rest in found}
    last_uses = _last_uses(user_ids)
    # A power held through a group or directly acts on the person's scope: name it.
    scopes = _scopes(user_ids)
    grants = {
        (user.pk, power, via, json.dumps(scope, sort_keys=True)): AccessGrant(
            user=user,
            power=power,
            via=via,
            scopes=(scope,) if scope else _person_scopes(user, scopes.get(user.pk, [])),
            last_used_at=last_uses.get((user.pk, power)),
        )
        for user, power, via, scope in found
    }
    return sorted(grants.values(), key=lambda g: (g.user.get_username(), g.power, g.via, g.scope))


def access_review_start(*, user) -> AccessReview:
    """Snapshot the current grants as the items of a new review."""
    _require(user, "overrides.add_accessreview")
    grants = access_grants()
    with transaction.atomic():
        review = AccessReview.objects.create(reviewer=user)
        AccessReviewItem.objects.bulk_create(
            AccessReviewItem(
                review=review,
                user=grant.user,
                power=grant.power,
                via=grant.via,
                scopes=list(grant.scopes),
                last_used_at=grant.last_used_at,
            )
            for grant in grants
        )
        return review


def access_review_decide(*, item_id: int, user, decision: str) -> AccessReviewItem:
    """Certify a grant (it stays) or revoke it: remove the direct permission, the membership of
    the group, the object permission or the superuser status, as the item's `via` says. Revoking
    a group or superuser status revokes every pending item held that way by the same person."""
    _require(user, "overrides.change_accessreviewitem")
    if decision not in (AccessReviewItem.Decision.CERTIFIED, AccessReviewItem.Decision.REVOKED):
        raise ValidationError({"decision": _("Certify or revoke.")})
    review_id = AccessReviewItem.objects.values_list("review_id", flat=True).get(pk=item_id)
    now = timezone.now()
    with transaction.atomic():
        # Lock order: the review, then its item (so the last decision completes the review).
        review = AccessReview.objects.select_for_update().get(pk=review_id)
        item = review.items.select_for_update(of=("self",)).select_related("user").get(pk=item_id)
        if item.user_id == user.pk:
            raise PermissionDenied(_("Someone else must review your own access."))
        if item.decision != AccessReviewItem.Decision.PENDING:
            raise ValidationError({"decision": _("This grant has already been reviewed.")})
        same_grant = [item]
        if decision == AccessReviewItem.Decision.REVOKED:
            _revoke(item)
            if item.via == VIA_SUPERUSER or item.via.startswith(VIA_GROUP):
                same_grant = list(
                    review.items.select_for_update().filter(
                        user=item.user, via=item.via, decision=AccessReviewItem.Decision.PENDING
                    )
                )
        for decided in same_grant:
            decided.decision = decision
            decided.decided_at = now
        AccessReviewItem.objects.bulk_update(same_grant, ["decision", "decided_at"])
        if not review.items.filter(decision=AccessReviewItem.Decision.PENDING).exists():
            review.completed_at = now
            review.save(update_fields=["completed_at"])
        item.refresh_from_db()
        return item


# A global grant of a scope permission: every object of its kind.
SCOPE_POWERS = {"work_in_region": "every_region", "work_at_site": "every_site", "work_for_account": "every_account"}


def _scopes(user_ids: set[int]) -> dict[int, list[dict]]:
    """Per person, the regions, sites and accounts they work on (object grants, their own or
    their groups'), or "every region" for a global grant: a fixed number of queries."""
    users = get_user_model()
    codes = list(SCOPE_POWERS)
    scope_permissions = {
        permission.pk: permission.codename
        for permission in Permission.objects.filter(content_type__app_label="orders", codename__in=codes)
    }
    scopes: dict[int, list[dict]] = {}

    def add(user_id: int, entry: dict) -> None:
        if entry not in scopes.setdefault(user_id, []):
            scopes[user_id].append(entry)

    group_members: dict[int, list[int]] = {}
    for membership in users.groups.through.objects.filter(user_id__in=user_ids):
        group_members.setdefault(membership.group_id, []).append(membership.user_id)
    for row in users.user_permissions.through.objects.filter(user_id__in=user_ids, permission_id__in=scope_permissions):
        add(row.user_id, coded(SCOPE_POWERS[scope_permissions[row.permission_id]]))
    group_grants = Group.permissions.through.objects.filter(
        group_id__in=group_members, permission_id__in=scope_permissions
    )
    for row in group_grants:
        for user_id in group_members[row.group_id]:
            add(user_id, coded(SCOPE_POWERS[scope_permissions[row.permission_id]]))
    user_rows = UserObjectPermission.objects.filter(user_id__in=user_ids, permission_id__in=scope_permissions)
    group_rows = GroupObjectPermission.objects.filter(group_id__in=group_members, permission_id__in=scope_permissions)
    for row in _with_objects(user_rows.select_related("content_type")):
        add(row.user_id, _scope(row))
    for row in _with_objects(group_rows.select_related("content_type")):
        for user_id in group_members[row.group_id]:
            add(user_id, _scope(row))
    return scopes


def _person_scopes(user, entries: list[dict]) -> tuple:
    if user.is_superuser:
        return (coded("superuser"),)
    if not entries:
        return (coded("nothing"),)
    return tuple(entries)


def access_power_label(power: str) -> str:
    return str(POWERS.get(power, power))


def access_revocation_effect(item: AccessReviewItem) -> str:
    """What revoking the grant takes away, in words, for the confirmation the reviewer reads."""
    name = item.user.get_username()
    if item.via.startswith(VIA_GROUP):
        return _(
            "This removes %(user)s from the group “%(group)s”, and with it every right the group gives, "
            "not only this one."
        ) % {"user": name, "group": role_label(item.via.removeprefix(VIA_GROUP))}
    if item.via == VIA_SUPERUSER:
        return _("This takes away %(user)s's superuser status, and every right it gives.") % {"user": name}
    if item.via.startswith(VIA_OBJECT):
        return _("This removes %(user)s's right to %(power)s on %(scope)s.") % {
            "user": name,
            "power": access_power_label(item.power),
            "scope": item.scope_text,
        }
    return _("This removes %(user)s's right to %(power)s.") % {"user": name, "power": access_power_label(item.power)}


def access_via_label(via: str) -> str:
    if via == VIA_DIRECT:
        return _("granted directly")
    if via == VIA_SUPERUSER:
        return _("superuser")
    if via.startswith(VIA_GROUP):
        return _("group “%(name)s”") % {"name": role_label(via.removeprefix(VIA_GROUP))}
    if via.startswith(VIA_OBJECT):
        return _("on one object")
    return via


def _sensitive_permissions() -> dict[int, str]:
    """Permission id → "app_label.codename" of every sensitive power."""
    wanted = Q()
    for power in POWERS:
        app_label, codename = power.split(".", 1)
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return {
        permission.pk: f"{permission.content_type.app_label}.{permission.codename}"
        for permission in Permission.objects.filter(wanted).select_related("content_type")
    }


def _direct_grants(permissions: dict[int, str]):
    rows = (
        get_user_model()
        .user_permissions.through.objects.filter(permission_id__in=permissions, user__is_active=True)
        .select_related("user")
    )
    for row in rows:
        yield row.user, permissions[row.permission_id], VIA_DIRECT, ""


def _group_grants(permissions: dict[int, str]):
    held: dict[int, list[tuple[str, str]]] = {}  # group id → [(power, scope)]
    names: dict[int, str] = {}
    for row in Group.permissions.through.objects.filter(permission_id__in=permissions).select_related("group"):
        held.setdefault(row.group_id, []).append((permissions[row.permission_id], ""))
        names[row.group_id] = row.group.name
    object_rows = GroupObjectPermission.objects.filter(permission_id__in=permissions).select_related(
        "group", "content_type"
    )
    for row in _with_objects(object_rows):
        held.setdefault(row.group_id, []).append((permissions[row.permission_id], _scope(row)))
        names[row.group_id] = row.group.name
    memberships = (
        get_user_model().groups.through.objects.filter(group_id__in=held, user__is_active=True).select_related("user")
    )
    for membership in memberships:
        for power, scope in held[membership.group_id]:
            yield membership.user, power, VIA_GROUP + names[membership.group_id], scope


def _object_grants(permissions: dict[int, str]):
    rows = UserObjectPermission.objects.filter(permission_id__in=permissions, user__is_active=True).select_related(
        "user", "content_type"
    )
    for row in _with_objects(rows):
        via = f"{VIA_OBJECT}{row.content_type.app_label}.{row.content_type.model}:{row.object_pk}"
        yield row.user, permissions[row.permission_id], via, _scope(row)


def _superuser_grants():
    for user in get_user_model().objects.filter(is_superuser=True, is_active=True):
        for power in POWERS:
            yield user, power, VIA_SUPERUSER, ""


def _with_objects(rows: QuerySet) -> list:
    """Object-permission rows with their objects fetched in one query per model."""
    rows = list(rows)
    by_model: dict[int, set[str]] = {}
    for row in rows:
        by_model.setdefault(row.content_type_id, set()).add(row.object_pk)
    objects: dict[tuple[int, str], object] = {}
    for content_type_id, pks in by_model.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is not None:
            for obj in model._default_manager.filter(pk__in=pks):
                objects[(content_type_id, str(obj.pk))] = obj
    for row in rows:
        row.found_object = objects.get((row.content_type_id, row.object_pk))
    return rows


def _scope(row) -> dict:
    """The object of an object permission, as a coded entry: its model and id, and its name as
    it was when read (a deleted object is named by its id)."""
    model = f"{row.content_type.app_label}.{row.content_type.model}"
    if row.found_object is None:
        return coded("deleted", model=model, id=str(row.object_pk))
    return coded("object", model=model, id=str(row.object_pk), name=str(row.found_object))


def _last_uses(user_ids: set[int]) -> dict[tuple[int, str], datetime]:
    """(user id, power) → when the person last used it."""
    uses: dict[tuple[int, str], datetime] = {}

    def take(power: str, queryset: QuerySet, user_field: str, time_field: str) -> None:
        latest = (
            queryset.filter(**{f"{user_field}__in": user_ids})
            .order_by()
            .values(user_field)
            .annotate(latest=Max(time_field))
            .values_list(user_field, "latest")
        )
        for user_id, moment in latest:
            if moment is not None and (uses.get((user_id, power)) is None or moment > uses[(user_id, power)]):
                uses[(user_id, power)] = moment

    take(OVERRIDE, StatusEvent.objects.exclude(reason_code=""), "actor_user", "received_at")
    take(APPROVE, StatusEvent.objects.all(), "approved_by", "received_at")
    take(APPROVE, OverrideRequest.objects.all(), "decided_by", "decided_at")
    take(APPROVE, EventSuppression.objects.all(), "approved_by", "created_at")
    take(SUPPRESS, EventSuppression.objects.all(), "suppressed_by", "created_at")
    take(SUPPRESS, EventSuppression.objects.all(), "approved_by", "created_at")
    take(APPLY_RECONCILIATION, ReconciliationRun.objects.all(), "applied_by", "applied_at")
    return uses


def _revoke(item: AccessReviewItem) -> None:
    user = item.user
    if item.via == VIA_DIRECT:
        app_label, codename = item.power.split(".", 1)
        user.user_permissions.remove(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    elif item.via.startswith(VIA_GROUP):
        user.groups.remove(*Group.objects.filter(name=item.via.removeprefix(VIA_GROUP)))
    elif item.via.startswith(VIA_OBJECT):
        _revoke_object_permission(item)
    elif item.via == VIA_SUPERUSER:
        others = get_user_model().objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
        if not others.exists():
            raise ValidationError({"decision": _("This is the last superuser; make someone else one first.")})
        user.is_superuser = False
        user.save(update_fields=["is_superuser"])
    else:
        raise ValidationError({"via": _("Unknown kind of grant: %(via)s") % {"via": item.via}})


def _revoke_object_permission(item: AccessReviewItem) -> None:
    model_label, object_pk = item.via.removeprefix(VIA_OBJECT).rsplit(":", 1)
    app_label, model = model_label.split(".", 1)
    content_type = ContentType.objects.get_by_natural_key(app_label, model)
    obj = content_type.model_class()._default_manager.filter(pk=object_pk).first()
    if obj is not None:
        remove_perm(item.power, item.user, obj)
        return
    # The object is gone but guardian keeps its rows: remove them so nothing comes back with the id.
    _app_label, codename = item.power.split(".", 1)
    UserObjectPermission.objects.filter(
        user=item.user, content_type=content_type, object_pk=object_pk, permission__codename=codename
    ).delete()


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(_("You do not have the right to do this."))
