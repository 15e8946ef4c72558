"""Status links: issue, open, revoke, rotate, and a fresh link asked for from an expired one.

A token is 32 URL-safe characters from 24 random bytes (192 bits). Only its SHA-256 is stored:
a leaked database gives no working link. The token travels only in the URL path.
"""

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache, caches
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.client_networks import rate_limited_network
from orders.models import Order, OrderLine, Shipment
from orders.prepared import model_columns, prepared_cursor, prepared_instance
from orders.read_models.cache import aware, view_version
from orders.services.outbox import outbox_publish
from portal.brand_stamp import brand_stamp_sql
from portal.models import (
    LinkAudience,
    LinkPurpose,
    LinkRenewalRequest,
    PortalProfile,
    StatusLink,
    StatusLinkOpen,
    link_expiry_check,
)

TOKEN_BYTES = 24
RENEWAL_TOPIC = "status_link.renewal_requested"
RENEWAL_QUIET = timedelta(hours=1)
USER_AGENT_MAX = 300
RELOAD_WINDOW = timedelta(seconds=30)
ISSUE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class IssuedLink:
    link: StatusLink
    # Relative URL with the raw token: shown or sent once, never stored.
    path: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status_link_path(token: str) -> str:
    return reverse("status-link:page", kwargs={"token": token})


def status_link_issue(
    *,
    order: Order,
    line: OrderLine | None = None,
    audience: str,
    purpose: str = LinkPurpose.VIEW,
    expires_in: timedelta | None = None,
    issued_by=None,
    language: str = "",
    replacing: bool = False,
) -> IssuedLink:
    """A new link to the order (or one of its lines) for `audience`; valid for `expires_in`,
    else the account's portal profile's days (default 14). A person (`issued_by`) may issue
    settings.STATUS_LINK_ISSUES_PER_HOUR links an hour; a link `replacing` one it revokes
    (a rotation) adds no working link and is not refused."""
    if audience not in LinkAudience.values:
        raise ValidationError({"audience": _("Unknown audience “%(value)s”.") % {"value": audience}})
    if purpose not in LinkPurpose.values:
        raise ValidationError({"purpose": _("Unknown purpose “%(value)s”.") % {"value": purpose}})
    if line is not None and line.order_id != order.pk:
        raise ValidationError({"line": _("The line is not on this order.")})
    if purpose == LinkPurpose.VIEW_CONFIRM and audience != LinkAudience.TECHNICIAN:
        raise ValidationError({"purpose": _("Only a technician's link may confirm a delivery.")})
    if expires_in is None:
        expires_in = timedelta(days=link_days_for(order))
    if expires_in <= timedelta(0):
        raise ValidationError({"expires_in": _("A link must be valid for some time.")})
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        if issued_by is not None and not replacing:
            _issuer_limit_check(issued_by)
        link = StatusLink.objects.create(
            token_hash=token_hash(token),
            order=order,
            line=line,
            audience=audience,
            purpose=purpose,
            issued_by=issued_by,
            expires_at=timezone.now() + expires_in,
            language=language if language in dict(settings.LANGUAGES) else "",
        )
    return IssuedLink(link=link, path=status_link_path(token))


def _issuer_limit_check(person) -> None:
    """Refuse a link past the person's links of the last hour: a signed-in account must not mint
    working tokens without end (the links it issued lately are listed on the order page to reuse).
    The person's row is locked first, so two requests at once cannot both take the last place."""
    limit = settings.STATUS_LINK_ISSUES_PER_HOUR
    list(get_user_model().objects.select_for_update().filter(pk=person.pk).values_list("pk", flat=True))
    issued = StatusLink.objects.filter(issued_by=person, issued_at__gte=timezone.now() - ISSUE_WINDOW).count()
    if issued >= limit:
        message = ngettext(
            "You have reached the limit of %(limit)d status link an hour. Please try again later.",
            "You have reached the limit of %(limit)d status links an hour. Please try again later.",
            limit,
        ) % {"limit": limit}
        raise ValidationError({NON_FIELD_ERRORS: message})


def link_days_for(order: Order) -> int:
    profile = portal_profile_for(order.account)
    return profile.status_link_days if profile is not None else 14


def portal_profile_for(account) -> PortalProfile | None:
    """The account's own profile, else its dealer's, else the OEM default."""
    candidates = [account.pk] + ([account.dealer_id] if account.dealer_id else [])
    profiles = {profile.account_id: profile for profile in PortalProfile.objects.filter(account_id__in=candidates)}
    for account_id in candidates:
        if account_id in profiles:
            return profiles[account_id]
    return PortalProfile.objects.filter(account__isnull=True).first()


def status_link_rekey(*, link: StatusLink) -> str:
    """A new token for the link, which keeps everything else (a message sent again, whose stored
    text holds a reference to the link and never its token): the earlier token stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    StatusLink.objects.filter(pk=link.pk).update(token_hash=token_hash(token))
    return token


def status_link_revoke(*, link: StatusLink, revoked_by=None) -> StatusLink:
    """Revoke the link at once (a revoked link answers 410). Revoking twice changes nothing."""
    with transaction.atomic():
        link = StatusLink.objects.select_for_update().get(pk=link.pk)
        if link.revoked_at is None:
            link.revoked_at = timezone.now()
            link.revoked_by = revoked_by
            link.save(update_fields=["revoked_at", "revoked_by"])
    return link


def status_link_expiry_change(*, link: StatusLink, expires_at, changed_by=None) -> StatusLink:
    """Give the link another expiry (staff, in the admin), and change nothing else: a revocation
    or an opening saved meanwhile stays as it is. A revoked (or replaced) link keeps its expiry:
    it never opens again, whatever the date says. The link records the change (when, by whom,
    the expiry before), so its pages say that an expired link was made valid again."""
    with transaction.atomic():
        link = StatusLink.objects.select_for_update().get(pk=link.pk)
        if link.revoked_at is not None:
            raise ValidationError({"expires_at": _("The link is revoked: its expiry no longer matters.")})
        link_expiry_check(issued_at=link.issued_at, expires_at=expires_at)
        if expires_at == link.expires_at:
            return link
        link.expires_at_before_change = link.expires_at
        link.expires_at = expires_at
        link.expiry_changed_at = timezone.now()
        link.expiry_changed_by = changed_by
        link.save(update_fields=["expires_at", "expires_at_before_change", "expiry_changed_at", "expiry_changed_by"])
    return link


SENT_CHANNELS = {"email": "sent_by_email_to", "sms": "sent_by_sms_to"}


def status_link_sent_record(*, link: StatusLink, channel: str, address: str) -> None:
    """Note on the link that our messages carry it by `channel` ("email" or "sms") to `address`,
    masked: the order page says whom a link of our messages went to, never the whole address.
    The latest address of each channel is kept (a contact's corrected email replaces the old);
    an SMS taken again with the link clears an earlier "not delivered"."""
    field = SENT_CHANNELS.get(channel)
    if field is None or not address:
        return
    masked = masked_email(address) if channel == "email" else masked_phone(address)
    changes = {field: masked} if getattr(link, field) != masked else {}
    if channel == "sms" and link.sms_undelivered:
        changes["sms_undelivered"] = False
    if changes:
        StatusLink.objects.filter(pk=link.pk).update(**changes)
        for name, value in changes.items():
            setattr(link, name, value)


def status_link_sms_undelivered_record(*, link: StatusLink) -> None:
    """Note on the link that our SMS to the number it names came back undelivered, so the order
    page no longer says the link was sent there. The caller checks that the SMS went to that
    number (an SMS to an older number leaves what a later one to the new number says)."""
    if link.sms_undelivered or not link.sent_by_sms_to:
        return
    StatusLink.objects.filter(pk=link.pk).update(sms_undelivered=True)
    link.sms_undelivered = True


MASK = "•••"
# E.164 country codes are prefix-free: 1 and 7 are one digit, these two, all others three.
TWO_DIGIT_COUNTRY_CODES = frozenset(
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 "  # noqa: SIM905
    "60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98".split()
)


def masked_email(address: str) -> str:
    """anna@berg-family.de: a•••@b•••.de (the first letters and the top-level domain): neither the
    name before the @ nor a personal domain names the person."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return MASK
    name, dot, top_level = domain.rpartition(".")
    host = f"{name[:1]}{MASK}.{top_level}" if dot and name else f"{domain[:1]}{MASK}"
    return f"{local[:1]}{MASK}@{host}"[: StatusLink._meta.get_field("sent_by_email_to").max_length]


def masked_phone(number: str) -> str:
    """+4915112345678: +49•••78 (the country code and the last two digits); a number without its
    country code: •••78."""
    digits = "".join(character for character in number if character.isdigit())
    if len(digits) < 6:
        return MASK
    if not number.strip().startswith("+"):
        return f"{MASK}{digits[-2:]}"
    country = digits[:1] if digits[0] in "17" else digits[:2] if digits[:2] in TWO_DIGIT_COUNTRY_CODES else digits[:3]
    return f"+{country}{MASK}{digits[-2:]}"


def status_link_rotate(*, link: StatusLink, rotated_by=None) -> IssuedLink:
    """A new token for the same order or line, audience and purpose, valid as long as a new link
    would be; the old one is revoked and points to its successor."""
    with transaction.atomic():
        link = StatusLink.objects.select_for_update().select_related("order__account").get(pk=link.pk)
        issued = status_link_issue(
            order=link.order,
            line=link.line,
            audience=link.audience,
            purpose=link.purpose,
            issued_by=rotated_by,
            language=link.language,
            replacing=True,
        )
        link.revoked_at = link.revoked_at or timezone.now()
        link.revoked_by = link.revoked_by or rotated_by
        link.replaced_by = issued.link
        link.save(update_fields=["revoked_at", "revoked_by", "replaced_by"])
    return issued


class LinkOutcome:
    SHOWN = "shown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    LIMITED = "limited"  # over the rate limit


@dataclass(frozen=True)
class LinkOpening:
    link: StatusLink | None  # None: no such token (404), or the address is over its limit
    outcome: str = LinkOutcome.SHOWN


TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")


def status_link_find(token: str) -> StatusLink | None:
    """The link of a token; None for anything not shaped like one (without asking the database)."""
    if not token or not TOKEN_SHAPE.fullmatch(token):
        return None
    return StatusLink.objects.select_related("order__account", "line").filter(token_hash=token_hash(token)).first()


def status_link_open(
    *, token: str, ip_address: str, user_agent: str, record: bool = True, reload: bool = False
) -> LinkOpening:
    """Judge an opening of a link: unknown (no link), over the rate limit, revoked, expired or
    shown; every opening of a real link is logged (`record`: a page; its live feed is not). An
    address over its limit is refused before any lookup: a flood of guesses costs no database work.

    `reload`: the page loaded itself again at once (the browser's time zone just became known).
    When the same network and browser opened the link moments before, it is that opening: not
    logged or counted against the link's limit a second time.

    The link comes with its order's view version (see _link_of). Every page of every link runs
    this: the address and the token are counted in one round trip to the cache, the link read in
    one query and its opening written in one statement."""
    hashed = token_hash(token) if token and TOKEN_SHAPE.fullmatch(token) else None
    user_agent = _storable(user_agent)
    subjects = [_address_subject(ip_address)]
    if hashed is not None and not reload:
        subjects.append(f"token:{hashed}")
    counts = _opens_counted(subjects)
    if counts[0] > settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP:
        return LinkOpening(link=None, outcome=LinkOutcome.LIMITED)
    link = _link_of(hashed) if hashed is not None else None
    if link is None:
        return LinkOpening(link=None)
    now = timezone.now()
    if reload and _opened_just_now(link, ip_address=ip_address, user_agent=user_agent, now=now):
        record = False
        over_limit = False
    else:
        opens = counts[1] if len(counts) > 1 else _opens_counted([f"token:{hashed}"])[0]
        over_limit = opens > settings.STATUS_LINK_OPENS_PER_MINUTE
    if over_limit:
        outcome = LinkOutcome.LIMITED
    elif link.revoked_at is not None:
        outcome = LinkOutcome.REVOKED
    elif link.expires_at <= now:
        outcome = LinkOutcome.EXPIRED
    else:
        outcome = LinkOutcome.SHOWN
    if record:
        _opening_record(
            link,
            opened_at=now,
            ip_prefix=ip_prefix(ip_address),
            user_agent=user_agent,
            outcome=outcome,
        )
    return LinkOpening(link=link, outcome=outcome)


def _link_of(hashed: str) -> StatusLink | None:
    """The link of a token's hash, with what its page needs of its order and line beside it (no
    further query when the page is cached): order_public_id, order_account_id, order_version
    (orders.read_models.cache.view_version's) and line_public_id (None for a whole-order link)."""
    links, orders = StatusLink._meta.db_table, Order._meta.db_table
    lines, shipments = OrderLine._meta.db_table, Shipment._meta.db_table
    sql = (
        f"SELECT {model_columns(StatusLink, 'l')}, o.public_id AS order_public_id, o.account_id AS order_account_id, "
        f"o.outbox_sequence AS order_outbox_sequence, o.updated_at AS order_updated_at, "
        f"o.view_changed_at AS order_view_changed_at, "
        f"(SELECT MAX(s.updated_at) FROM {shipments} s WHERE s.order_id = l.order_id) AS order_shipments_changed_at, "
        f"n.public_id AS line_public_id, {brand_stamp_sql('o.account_id')} AS brand_stamp "
        f"FROM {links} l JOIN {orders} o ON o.id = l.order_id LEFT JOIN {lines} n ON n.id = l.line_id "
        f"WHERE l.token_hash = %s"
    )
    extra = (
        "order_public_id",
        "order_account_id",
        "order_outbox_sequence",
        "order_updated_at",
        "order_view_changed_at",
        "order_shipments_changed_at",
        "line_public_id",
        "brand_stamp",
    )
    link = prepared_instance(StatusLink, sql, [hashed], extra=extra)
    if link is None:
        return None
    link.order_public_id = UUID(str(link.order_public_id))
    link.line_public_id = UUID(str(link.line_public_id)) if link.line_public_id is not None else None
    link.order_version = view_version(
        SimpleNamespace(
            outbox_sequence=link.order_outbox_sequence,
            shipments_changed_at=aware(link.order_shipments_changed_at),
            updated_at=aware(link.order_updated_at),
            view_changed_at=aware(link.order_view_changed_at),
        )
    )
    return link


def _opening_record(link: StatusLink, *, opened_at, ip_prefix: str, user_agent: str, outcome: str) -> None:
    """The opening logged and, when the page was shown, the link's last opening set: one
    statement on PostgreSQL, one transaction elsewhere."""
    if outcome == LinkOutcome.SHOWN and connection.vendor == "postgresql":
        opens, links = StatusLinkOpen._meta.db_table, StatusLink._meta.db_table
        with prepared_cursor() as cursor:
            cursor.execute(
                f"WITH opened AS (INSERT INTO {opens} (link_id, opened_at, ip_prefix, user_agent, outcome) "
                f"VALUES (%s, %s, %s, %s, %s) RETURNING link_id) "
                f"UPDATE {links} SET last_opened_at = %s WHERE id IN (SELECT link_id FROM opened)",
                [link.pk, opened_at, ip_prefix, user_agent, outcome, opened_at],
            )
        return
    with transaction.atomic():
        StatusLinkOpen.objects.create(
            link=link, opened_at=opened_at, ip_prefix=ip_prefix, user_agent=user_agent, outcome=outcome
        )
        if outcome == LinkOutcome.SHOWN:
            StatusLink.objects.filter(pk=link.pk).update(last_opened_at=opened_at)


def _storable(user_agent: str) -> str:
    """The user agent as its log keeps it: cut, without NUL (no PostgreSQL text holds one)."""
    return user_agent.replace("\x00", "")[:USER_AGENT_MAX]


def _opened_just_now(link: StatusLink, *, ip_address: str, user_agent: str, now) -> bool:
    return StatusLinkOpen.objects.filter(
        link=link,
        ip_prefix=ip_prefix(ip_address),
        user_agent=user_agent[:USER_AGENT_MAX],
        opened_at__gte=now - RELOAD_WINDOW,
    ).exists()


def address_attempt_counted(ip_address: str) -> bool:
    """Count a request naming a token (page, live feed, confirmation, renewal, websocket) against
    the address's limit; True past it. An IPv6 client is counted by its /64: one host commonly
    holds a whole /64, and would otherwise have a fresh limit per address."""
    return _opens_counted([_address_subject(ip_address)])[0] > settings.STATUS_LINK_OPENS_PER_MINUTE_PER_IP


def _address_subject(ip_address: str) -> str:
    return f"ip:{rate_limited_network(ip_address)}"


def _opens_counted(subjects: list[str]) -> list[int]:
    """Counts this opening in each subject's current minute (the cache is shared by every web
    process when it is Redis) and gives each subject's count so far, this one included; with
    Redis in one round trip."""
    minute = int(timezone.now().timestamp() // 60)
    keys = [f"status-link-opens:{subject}:{minute}" for subject in subjects]
    backend = caches["default"]
    if hasattr(backend, "incr_expiring"):  # Redis (config.cache)
        return backend.incr_expiring(keys, 90)
    return [_counted(key) for key in keys]


def _counted(key: str) -> int:
    if cache.add(key, 1, timeout=90):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=90)
        return 1


def ip_prefix(address: str) -> str:
    """The network an address belongs to, not the address: /24 for IPv4, /48 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def status_link_renewal_request(*, link: StatusLink, ip_address: str) -> LinkRenewalRequest:
    """Record that a holder of an unusable link asked for a fresh one and publish it for the
    notifications app (which sends a new link to the contact on file, never to the asker). At most
    one request per link and hour is passed on: the others are recorded only."""
    with transaction.atomic():
        link = StatusLink.objects.select_for_update(of=("self",)).select_related("order", "line").get(pk=link.pk)
        recent = LinkRenewalRequest.objects.filter(
            link=link, published=True, requested_at__gte=timezone.now() - RENEWAL_QUIET
        ).exists()
        request = LinkRenewalRequest.objects.create(link=link, ip_prefix=ip_prefix(ip_address), published=not recent)
        if not recent:
            outbox_publish(
                topic=RENEWAL_TOPIC,
                order=link.order,
                payload={
                    "link_id": link.pk,
                    "link_public_id": str(link.public_id),
                    "audience": link.audience,
                    "purpose": link.purpose,
                    "order_public_id": str(link.order.public_id),
                    "line_public_id": str(link.line.public_id) if link.line_id else None,
                    "renewal_request_id": request.pk,
                },
            )
    return request
