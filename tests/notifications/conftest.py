"""Notifications run against real servers on localhost: the fake of Twilio's Messages API (the
official client talks HTTP to it) and an aiosmtpd SMTP server that keeps what it receives. Also
what the tests here share: a source moving a line, the SMS a number got, the people of the admin."""

import email
import email.policy
import socket
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import assign_perm

from notifications.defaults import default_rules_seed
from notifications.fake_twilio import FakeTwilio
from notifications.models import NotificationRule
from notifications.services import sending
from notifications.services.callbacks import twilio_status_record
from orders.services import Actor, apply_status_update
from tests.factories import UserFactory
from tests.notifications.factories import OrderContactFactory

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://parts.example.com"  # behind a proxy: the address Twilio signs for
# A Monday, 10:00 in Berlin (CET, UTC+1): where the tests with a frozen clock start.
MONDAY_9_UTC = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SAP = Actor.integration("SAP-ERP")


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Production-strength hashing costs a good part of a second for every person a test makes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def twilio(settings):
    """The fake Twilio, and the settings that point the client at it."""
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_URL = fake.url
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    yield fake
    fake.stop()


class Mailbox:
    """What the SMTP server received, as parsed messages."""

    def __init__(self):
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-Envelope-To"]]


@pytest.fixture
def mailbox(settings):
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    yield box
    controller.stop()


def text_part(message: Message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()


def html_part(message: Message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()


@pytest.fixture
def rules(db):
    """The shipped default rule set, as `make run` loads it."""
    default_rules_seed()


@pytest.fixture
def contact_for():
    """Put a contact on a line's order."""

    def contact_for(line, **fields):
        return OrderContactFactory(order=line.order, **fields)

    return contact_for


def status_link_in(text: str):
    """The working status link a message carries: its URL, and the portal's row for its token."""
    import re

    from portal.models import StatusLink
    from portal.services.links import token_hash

    match = re.search(re.escape(PUBLIC_BASE_URL) + r"/s/([A-Za-z0-9_-]{16,})/", text)
    assert match, f"no status link in {text!r}"
    return match[0], StatusLink.objects.get(token_hash=token_hash(match[1]))


def move(line, status: str, at: datetime):
    """A source says the line reached `status` at `at` (the source's clock is the test's)."""
    return apply_status_update(line_id=line.pk, status=status, occurred_at=at, actor=SAP)


def ship(line) -> None:
    """The line's goods issue is booked now."""
    apply_status_update(line_id=line.pk, status="shipped", occurred_at=timezone.now(), actor=SAP)


def sms_to(twilio, number: str) -> list[dict]:
    """The SMS the fake Twilio took for `number`, oldest first."""
    return [message for message in twilio.sent() if message["to"] == number]


def email_handed_over_then_worker_died(notification) -> datetime:
    """A worker claims the email `notification` a second after it is due and hands it to the mail
    server, then dies before it records that it did. When it claimed it."""
    claimed_at = notification.due_at + timedelta(seconds=1)
    sending._email(sending._claim(notification.pk, now=claimed_at))
    return claimed_at


def twilio_says(notification, status: str, error_code: str = "") -> None:
    """Twilio's status callback reports `status` for the SMS of `notification` (re-read after)."""
    notification.refresh_from_db()
    twilio_status_record(
        notification_id=notification.pk,
        sid=notification.provider_id,
        status=status,
        error_code=error_code,
        token=f"{notification.provider_id}-{status}",
    )
    notification.refresh_from_db()


def sms_undelivered_and_sent_again(twilio, notification) -> None:
    """Twilio reports the SMS of `notification` undelivered (a temporary error), and its retry
    goes out with Twilio taking every SMS again."""
    twilio_says(notification, "undelivered", "30003")
    twilio.configure({"outcomes": {}})
    sending.notification_send(notification_id=notification.pk, now=notification.due_at + timedelta(seconds=1))


def throttled_sms_rule():
    """A rule that texts the requester when a part ships, at most once a minute: its SMS waits
    a minute after the event (a time in which workers may race or die)."""
    return NotificationRule.objects.create(
        name="throttled SMS",
        event_kind="status_reached",
        statuses=["shipped"],
        roles=["requester"],
        channel="sms",
        throttle=timedelta(minutes=1),
    )


def region_member(role: str, region, *, username: str = "", is_staff: bool = True, **fields):
    """A person with `role`'s group who works in `region` (an object permission), as the back
    office sets people up."""
    user = UserFactory(username=username or f"{role}-person", is_staff=is_staff, **fields)
    user.groups.add(Group.objects.get(name=role))
    assign_perm("orders.work_in_region", user, region)
    return user


@pytest.fixture
def boss(db, client):
    """A superuser signed in on `client`: the admin with nothing hidden."""
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user
