"""From an event to notifications: which rules apply, who hears of it, by which channel, when.

A notification is created once per (event, recipient address, channel): the database's unique
constraint decides, so concurrent triggers and a redelivered handler create one row. Timing is
decided here too: critical rules go at once (unless a maintenance window holds them), the others
wait for quiet hours to end, a throttle window (a burst on one order becomes one message with the
latest state) or the recipient's digest hour.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from notifications.models import (
    BlockedAddress,
    Channel,
    EventKind,
    MaintenanceWindow,
    Notification,
    NotificationRule,
    NotificationStatus,
    RecipientPreference,
    RuleChannel,
)
from notifications.phones import phone_normalised
from notifications.services.log import log_add, send_after_commit
from notifications.services.timing import next_digest_at, quiet_until
from notifications.services.windows import windows_covering
from orders.models import ContactRole, Order, OrderContact, OrderLine, OutboxEvent, StatusEvent
from orders.models import EventKind as StatusEventKind
from orders.publication import Topic
from orders.status import LineStatus

# Topics the notifications app reacts to (the core's and the ones it publishes for us).
LINE_ETA_CHANGED = Topic.LINE_ETA_CHANGED
DISCREPANCY_OPENED = Topic.DISCREPANCY_OPENED
STATUS_LINK_RENEWAL_REQUESTED = "status_link.renewal_requested"
OVERRIDE_KINDS = (StatusEventKind.OVERRIDE, StatusEventKind.HELD_OVERRIDE)


@dataclass(frozen=True)
class Trigger:
    """One event as notifications see it."""

    key: str  # identity of the event: "outbox:<id>"
    kinds: tuple[str, ...]  # the event kinds it is, most specific first
    order: Order
    line: OrderLine | None
    source_system: str = ""
    facts: dict = field(default_factory=dict)


def trigger_from_outbox(event: OutboxEvent) -> Trigger | None:
    """The trigger an outbox row stands for, or None (a test order, a change nobody hears of)."""
    payload = event.payload
    line_id = payload.get("line_id")
    line = (
        OrderLine.objects.select_related("order__account", "order__region", "part", "site").filter(pk=line_id).first()
    )
    if line is None or line.order.is_test:
        return None
    key = f"outbox:{event.pk}"
    if event.topic == Topic.LINE_STATUS_CHANGED:
        status, previous = payload.get("line_status") or payload.get("to_status"), payload.get("from_status", "")
        if not status or status == previous:
            return None
        kinds = []
        if status == LineStatus.EXCEPTION:
            kinds.append(EventKind.EXCEPTION)
        if status == LineStatus.VERIFIED:
            kinds.append(EventKind.DELIVERY_VERIFIED)
        kinds.append(EventKind.STATUS_REACHED)
        if StatusEvent.objects.filter(pk=payload.get("event_id"), kind__in=OVERRIDE_KINDS).exists():
            kinds.append(EventKind.OVERRIDE_APPLIED)
        facts = {"status": status, "from_status": previous, "occurred_at": payload.get("occurred_at")}
        return Trigger(key, tuple(kinds), line.order, line, payload.get("source_system", ""), facts)
    if event.topic in (Topic.ALERT_OPENED, Topic.ALERT_ESCALATED):
        kind = EventKind.ALERT_OPENED if event.topic == Topic.ALERT_OPENED else EventKind.ALERT_ESCALATED
        facts = {"status": payload.get("status"), "level": payload.get("level"), "alert_id": payload.get("alert_id")}
        return Trigger(key, (kind,), line.order, line, last_source_of(line), facts)
    if event.topic == DISCREPANCY_OPENED:
        facts = {
            "summary": payload.get("summary", ""),
            "summary_code": payload.get("summary_code", ""),
            "summary_params": payload.get("summary_params") or {},
            "discrepancy_id": payload.get("discrepancy_id"),
        }
        return Trigger(key, (EventKind.DISCREPANCY_OPENED,), line.order, line, last_source_of(line), facts)
    if event.topic == LINE_ETA_CHANGED:
        facts = {"previous_eta": payload.get("previous_eta"), "eta": payload.get("eta")}
        return Trigger(key, (EventKind.ETA_SLIPPED,), line.order, line, payload.get("source_system", ""), facts)
    return None


def last_source_of(line: OrderLine) -> str:
    """The source system that last reported the line: a stale alert or a discrepancy is about
    what it said, so that source's maintenance window covers them."""
    return (
        StatusEvent.objects.filter(line=line)
        .exclude(source_system="")
        .order_by("-sequence")
        .values_list("source_system", flat=True)
        .first()
        or ""
    )


@dataclass
class Recipient:
    contact: OrderContact
    locale: str
    time_zone: str
    preference: RecipientPreference | None

    @property
    def zone(self):
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


def recipients_of(order: Order) -> list[Recipient]:
    """The order's contacts with their preferences (by user, else email, else phone), in two queries."""
    contacts = list(OrderContact.objects.filter(order=order).select_related("user").order_by("pk"))
    if not contacts:
        return []
    users = {c.user_id for c in contacts if c.user_id}
    emails = {c.email.strip().lower() for c in contacts if c.email}
    phones = {phone_normalised(c.phone) for c in contacts if c.phone}
    # Compared in one form: "Anna@Customer.de" and "+49 151 ..." find what was saved otherwise.
    preferences = list(
        RecipientPreference.objects.annotate(email_lowered=Lower("email")).filter(
            Q(user_id__in=users) | Q(email_lowered__in=emails) | Q(phone__in=phones)
        )
    )
    recipients = []
    for contact in contacts:
        email, phone = contact.email.strip().lower(), phone_normalised(contact.phone)
        preference = next(
            (
                p
                for p in preferences
                if (contact.user_id and p.user_id == contact.user_id)
                or (email and p.email.lower() == email)
                or (phone and phone_normalised(p.phone) == phone)
            ),
            None,
        )
        recipients.append(
            Recipient(
                contact=contact,
                locale=contact.language or order.account.language or "en",
                time_zone=(preference.time_zone if preference else "") or contact.time_zone or "UTC",
                preference=preference,
            )
        )
    return recipients


def preference_for(contact: OrderContact) -> RecipientPreference | None:
    """The preference of one contact: by their user, else their email, else their phone."""
    for lookup in (
        {"user_id": contact.user_id} if contact.user_id else None,
        {"email__iexact": contact.email.strip()} if contact.email else None,
        {"phone": phone_normalised(contact.phone)} if contact.phone else None,
    ):
        if lookup:
            found = RecipientPreference.objects.filter(**lookup).first()
            if found is not None:
                return found
    return None


@dataclass
class Plan:
    """One notification to create."""

    kind: str
    rule: NotificationRule | None
    recipient: Recipient
    channel: str
    address: str
    critical: bool
    fallback_address: str = ""
    skip_reason: str = ""


def notifications_for_trigger(trigger: Trigger, *, now: datetime | None = None) -> list[Notification]:
    """Create the trigger's notifications (those that already exist are left alone) and have the
    ones due now sent after commit. Returns the notifications created by this call."""
    now = now or timezone.now()
    recipients = recipients_of(trigger.order)
    if not recipients:
        return []
    rules = [
        rule
        for rule in NotificationRule.objects.filter(is_active=True, event_kind__in=trigger.kinds).order_by("pk")
        if _rule_applies(rule, trigger)
    ]
    plans = _plans(trigger, rules, recipients)
    return _create(trigger, plans, now=now)


def notification_for_link_renewal(event: OutboxEvent, *, now: datetime | None = None) -> list[Notification]:
    """Someone asked for a fresh status link: the contacts on file for the link's audience get
    one now (a technician link: the order's technicians, who get their view with delivery
    confirmation back; a customer link, or a technician link on an order without a technician:
    the requesters), by email (by SMS when they have no email)."""
    now = now or timezone.now()
    payload = event.payload
    order = Order.objects.select_related("account", "region").filter(public_id=payload.get("order_public_id")).first()
    if order is None:
        return []
    line = OrderLine.objects.filter(public_id=payload.get("line_public_id"), order=order).first()
    trigger = Trigger(
        f"outbox:{event.pk}", (EventKind.LINK_RENEWAL,), order, line, "", {"audience": payload.get("audience", "")}
    )
    plans = []
    recipients = recipients_of(order)
    roles = {recipient.contact.role for recipient in recipients}
    wanted = (
        ContactRole.TECHNICIAN
        if payload.get("audience") == "technician" and ContactRole.TECHNICIAN in roles
        else ContactRole.REQUESTER
    )
    for recipient in recipients:
        contact = recipient.contact
        if contact.role != wanted:
            continue
        if contact.email:
            plans.append(Plan(EventKind.LINK_RENEWAL, None, recipient, Channel.EMAIL, contact.email.lower(), True))
        elif contact.phone:
            plans.append(
                Plan(EventKind.LINK_RENEWAL, None, recipient, Channel.SMS, phone_normalised(contact.phone), True)
            )
    return _create(trigger, plans, now=now, bypass_windows=True)


def _rule_applies(rule: NotificationRule, trigger: Trigger) -> bool:
    line = trigger.line
    criticality = line.part.criticality if line else ""
    if not rule.matches(
        criticality=criticality, priority=trigger.order.priority, status=trigger.facts.get("status", "")
    ):
        return False
    if rule.event_kind == EventKind.ETA_SLIPPED:
        current = parse_datetime(trigger.facts.get("eta") or "")
        baseline = _eta_baseline(rule, trigger)
        if baseline is None or current is None:
            return False
        return current - baseline > (rule.eta_tolerance or timedelta(0))
    return True


def _eta_baseline(rule: NotificationRule, trigger: Trigger) -> datetime | None:
    """What a slip is measured against: the ETA this rule last told of for the line, else the
    line's first known ETA (before its first move), so that a slow creep of small moves counts."""
    told = (
        Notification.objects.filter(order=trigger.order, line=trigger.line, rule=rule, kind=EventKind.ETA_SLIPPED)
        .exclude(event_key=trigger.key)
        .order_by("-pk")
        .values_list("facts", flat=True)
        .first()
    )
    if told and told.get("eta"):
        return parse_datetime(told["eta"])
    line_id = trigger.line.pk if trigger.line else None
    moves = OutboxEvent.objects.filter(order=trigger.order, topic=LINE_ETA_CHANGED).order_by("pk")
    first = next((event for event in moves.only("payload") if event.payload.get("line_id") == line_id), None)
    return parse_datetime((first.payload if first else trigger.facts).get("previous_eta") or "")


def _plans(trigger: Trigger, rules: list[NotificationRule], recipients: list[Recipient]) -> list[Plan]:
    """One plan per (address, channel): the critical rule wins, then the more specific event."""
    blocked = set(
        BlockedAddress.objects.filter(
            cleared_at__isnull=True,
            channel=Channel.SMS,
            address__in=[phone_normalised(r.contact.phone) for r in recipients if r.contact.phone],
        ).values_list("address", flat=True)
    )
    chosen: dict[tuple[str, str], Plan] = {}
    for rule in rules:
        for recipient in recipients:
            if recipient.contact.role not in rule.roles:
                continue
            plan = _route(rule, recipient, blocked)
            key = (plan.address, plan.channel)
            current = chosen.get(key)
            if current is None or _precedence(plan, trigger) < _precedence(current, trigger):
                chosen[key] = plan
    return list(chosen.values())


def _precedence(plan: Plan, trigger: Trigger) -> tuple:
    return (not plan.critical, trigger.kinds.index(plan.kind), plan.rule.pk if plan.rule else 0)


def _route(rule: NotificationRule, recipient: Recipient, blocked: set[str]) -> Plan:
    """The channel and address a rule reaches a recipient by, after their preferences."""
    contact, preference = recipient.contact, recipient.preference
    phone = phone_normalised(contact.phone)
    sms_ok = preference is None or preference.sms_enabled
    email_ok = preference is None or preference.email_enabled
    email = contact.email.lower() if contact.email and email_ok else ""
    kind, critical = rule.event_kind, rule.critical
    channel = rule.channel
    if channel == RuleChannel.DIGEST and critical:
        channel = RuleChannel.EMAIL  # critical skips digests
    if channel == RuleChannel.SMS:
        fallback = email if rule.fallback_to_email else ""
        reason = ""
        if not contact.phone:
            reason = _("no phone number")
        elif not sms_ok:
            reason = _("SMS switched off by the recipient")
        elif phone in blocked:
            reason = _("the number is blocked")
        if not reason:
            return Plan(kind, rule, recipient, Channel.SMS, phone, critical, fallback_address=fallback)
        if fallback:
            return Plan(kind, rule, recipient, Channel.EMAIL, fallback, critical)
        return Plan(kind, rule, recipient, Channel.SMS, phone, critical, skip_reason=reason)
    target = Channel.DIGEST if channel == RuleChannel.DIGEST else Channel.EMAIL
    if not email:
        reason = _("email switched off by the recipient") if contact.email else _("no email address")
        return Plan(kind, rule, recipient, target, contact.email.lower(), critical, skip_reason=reason)
    return Plan(kind, rule, recipient, target, email, critical)


def _create(trigger: Trigger, plans: list[Plan], *, now: datetime, bypass_windows: bool = False) -> list[Notification]:
    if not plans:
        return []
    windows = [] if bypass_windows else _windows_covering(trigger, now=now)
    created = []
    with transaction.atomic():
        for plan in plans:
            notification = _create_one(trigger, plan, windows=windows, now=now)
            if notification is not None:
                created.append(notification)
    send_after_commit(
        [
            n.pk
            for n in created
            if n.status == NotificationStatus.PENDING and n.channel != Channel.DIGEST and n.due_at <= now
        ]
    )
    return created


def _windows_covering(trigger: Trigger, *, now: datetime) -> list[MaintenanceWindow]:
    line = trigger.line
    return windows_covering(
        source_system=trigger.source_system,
        region_id=trigger.order.region_id,
        site_id=line.site_id if line else None,
        now=now,
    )


def _create_one(
    trigger: Trigger, plan: Plan, *, windows: list[MaintenanceWindow], now: datetime
) -> Notification | None:
    """Insert the notification; None when it exists already (the same event again). A burst on
    one order folds into the message already waiting for it."""
    recipient = plan.recipient
    row = Notification(
        event_key=trigger.key,
        kind=plan.kind,
        order=trigger.order,
        line=trigger.line,
        rule=plan.rule,
        contact=recipient.contact,
        role=recipient.contact.role,
        recipient_name=recipient.contact.name,
        address=plan.address,
        channel=plan.channel,
        locale=recipient.locale,
        time_zone=recipient.time_zone,
        critical=plan.critical,
        fallback_address=plan.fallback_address,
        facts={**trigger.facts, "source_system": trigger.source_system},
        due_at=now,
    )
    note = _schedule(row, plan, windows=windows, now=now)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row.pk = None
                row.save()
        except IntegrityError:
            if Notification.objects.filter(event_key=row.event_key, address=row.address, channel=row.channel).exists():
                return None
            # Locked while this one folds into it: a worker claiming it meanwhile waits (or skips
            # it), so it renders with this event, never without it.
            waiting = (
                Notification.objects.select_for_update()
                .filter(throttle_key=row.throttle_key, status=NotificationStatus.PENDING)
                .first()
            )
            if waiting is None:
                continue  # it was sent meanwhile: this one waits on its own
            row.status, row.folded_into, note = NotificationStatus.FOLDED, waiting, _("folded into a waiting message")
            continue
        log_add(row, row.status, detail=note, at=now)
        return row
    raise RuntimeError(f"could not create the notification of {row.event_key} for {row.address}")


def _schedule(row: Notification, plan: Plan, *, windows: list[MaintenanceWindow], now: datetime) -> str:
    """Status, due time and throttle key of a new notification; returns a note for the log."""
    if plan.skip_reason:
        row.status = NotificationStatus.SKIPPED
        row.last_error = plan.skip_reason
        return plan.skip_reason
    window = next((w for w in windows if not (plan.critical and w.lets_critical_through)), None)
    preference = plan.recipient.preference
    if window is not None and row.kind != EventKind.LINK_RENEWAL:
        row.status, row.held_by, row.due_at = NotificationStatus.HELD, window, window.ends_at
        return _("held by the maintenance window “%(window)s”") % {"window": window.name}
    if row.channel == Channel.DIGEST:
        hour = preference.digest_hour if preference else 8
        row.due_at = next_digest_at(moment=now, zone=plan.recipient.zone, hour=hour)
        return _("for the digest")
    if plan.critical:
        return _("critical: at once")
    due = now
    if plan.rule is not None and plan.rule.throttle:
        due = now + plan.rule.throttle
        row.throttle_key = f"{row.address}|{row.channel}|{row.order_id}"
    if preference is not None:
        row.due_at = (
            quiet_until(moment=due, zone=plan.recipient.zone, start=preference.quiet_start, end=preference.quiet_end)
            or due
        )
        if row.due_at != due:
            return _("after the recipient's quiet hours")
    row.due_at = due
    return ""
