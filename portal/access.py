"""Open websockets learn at once when what they follow may no longer be theirs to see: a status
link saved (revoked, rotated, expiry edited) or deleted, and a person whose account, permissions,
groups, technician jobs or session changed, or whose dealer no longer serves an account. Each
such change signals the link's or the person's group after commit; the sockets there check their
scope again and close when it is gone (portal.consumers)."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import get_users_with_perms

from orders.models import Account, OrderContact
from portal.models import StatusLink

MESSAGE = {"type": "access.changed"}


def link_group_name(link_id: int) -> str:
    return f"portal-link-{link_id}"


def user_group_name(user_id: int) -> str:
    return f"portal-user-{user_id}"


def _tell(groups: list[str], message: dict = MESSAGE) -> None:
    """After commit (the sockets check what was committed), each group once."""
    groups = sorted(set(groups))
    if not groups:
        return

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        for group in groups:
            if loop is None:
                async_to_sync(layer.group_send)(group, message)
            else:  # a thread that runs an event loop itself (async_to_sync may not block it)
                loop.create_task(layer.group_send(group, message))

    transaction.on_commit(send, robust=True)


def _link_changed(sender, instance: StatusLink, **kwargs) -> None:
    _tell([link_group_name(instance.pk)])


def _user_changed(sender, instance, **kwargs) -> None:
    _tell([user_group_name(instance.pk)])


def _user_logged_out(sender, request, user, **kwargs) -> None:
    """The session ends (it is flushed after this signal): its sockets close."""
    if user is not None:
        session = getattr(request, "session", None)
        _tell([user_group_name(user.pk)], {**MESSAGE, "ended_session": getattr(session, "session_key", None)})


def _user_permission_changed(sender, instance: UserObjectPermission, **kwargs) -> None:
    _tell([user_group_name(instance.user_id)])


def _group_permission_changed(sender, instance: GroupObjectPermission, **kwargs) -> None:
    members = get_user_model().objects.filter(groups=instance.group_id).values_list("pk", flat=True)
    _tell([user_group_name(pk) for pk in members])


def _groups_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    if action not in ("post_remove", "post_clear", "post_add"):
        return
    if not reverse:  # user.groups changed
        _tell([user_group_name(instance.pk)])
    else:  # group.user_set changed
        users = pk_set if pk_set else get_user_model().objects.filter(groups=instance).values_list("pk", flat=True)
        _tell([user_group_name(pk) for pk in users])


def _contact_changed(sender, instance: OrderContact, **kwargs) -> None:
    if instance.user_id is not None:
        _tell([user_group_name(instance.user_id)])


def _account_saving(sender, instance: Account, **kwargs) -> None:
    """Remember the dealer before the save: its people may lose the account's orders."""
    if instance.pk is not None:
        instance._dealer_before = Account.objects.filter(pk=instance.pk).values_list("dealer_id", flat=True).first()


def _account_saved(sender, instance: Account, created: bool, **kwargs) -> None:
    before = getattr(instance, "_dealer_before", None)
    if created or before is None or before == instance.dealer_id:
        return
    dealer = Account.objects.filter(pk=before).first()
    if dealer is None:
        return
    people = get_users_with_perms(
        dealer, only_with_perms_in=["follow_account_orders"], with_group_users=True, with_superusers=False
    )
    _tell([user_group_name(pk) for pk in people.values_list("pk", flat=True)])


def register() -> None:
    user_model = get_user_model()
    post_save.connect(_link_changed, sender=StatusLink, dispatch_uid="portal-access-link-saved")
    post_delete.connect(_link_changed, sender=StatusLink, dispatch_uid="portal-access-link-deleted")
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="portal-access-user-saved")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="portal-access-user-deleted")
    user_logged_out.connect(_user_logged_out, dispatch_uid="portal-access-logged-out")
    for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
        signal.connect(_user_permission_changed, sender=UserObjectPermission, dispatch_uid=f"portal-access-uop-{name}")
        signal.connect(
            _group_permission_changed, sender=GroupObjectPermission, dispatch_uid=f"portal-access-gop-{name}"
        )
        signal.connect(_contact_changed, sender=OrderContact, dispatch_uid=f"portal-access-contact-{name}")
    pre_save.connect(_account_saving, sender=Account, dispatch_uid="portal-access-account-saving")
    post_save.connect(_account_saved, sender=Account, dispatch_uid="portal-access-account-saved")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="portal-access-groups")
