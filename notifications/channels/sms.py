"""SMS through the official Twilio client. TWILIO_API_URL points it at another host (the local
fake in development and tests); the client, its errors and its request signing are Twilio's own."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.channels import DeliveryError
from notifications.models import BlockReason

logger = logging.getLogger(__name__)
# Twilio's clock against ours: a message created this much before our hand-off is still ours.
CLOCK_SKEW = timedelta(seconds=30)

# Twilio error codes after which the number is unusable (and the reason recorded), and other
# codes that no retry can fix. Everything else (rate limits, 5xx, network) is temporary.
BLOCKING_CODES = {
    "21211": BlockReason.INVALID,  # invalid 'To' number
    "21214": BlockReason.INVALID,  # 'To' number cannot be reached
    "21610": BlockReason.OPT_OUT,  # the recipient replied STOP
    "21612": BlockReason.UNREACHABLE,  # cannot route to this number
    "21614": BlockReason.UNREACHABLE,  # not a mobile number
    "30004": BlockReason.CARRIER,  # message blocked
    "30005": BlockReason.UNREACHABLE,  # unknown destination handset
    "30006": BlockReason.UNREACHABLE,  # landline or unreachable carrier
    "30007": BlockReason.CARRIER,  # carrier filtering
}
PERMANENT_CODES = {"21408", "21606", "21617", "30019", *BLOCKING_CODES}


class RedirectedHttpClient(TwilioHttpClient):
    """Sends the client's requests to `base_url` instead of api.twilio.com (path kept)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        return super().request(method, urlunsplit((self._scheme, self._netloc, *parts[2:])), *args, **kwargs)


def twilio_client() -> Client:
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_FROM_NUMBER):
        raise DeliveryError(
            "SMS is not configured: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER", permanent=True
        )
    options = {"timeout": settings.TWILIO_TIMEOUT}
    http_client = (
        RedirectedHttpClient(settings.TWILIO_API_URL, **options)
        if settings.TWILIO_API_URL
        else TwilioHttpClient(**options)
    )
    # An empty environment: TWILIO_EDGE / TWILIO_REGION must not rewrite the host.
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client, environment={})


@dataclass(frozen=True)
class Accepted:
    provider_id: str
    status: str


def sms_send(*, to: str, body: str, status_callback: str) -> Accepted:
    try:
        message = twilio_client().messages.create(
            to=to, from_=settings.TWILIO_FROM_NUMBER, body=body, status_callback=status_callback or None
        )
    except TwilioRestException as error:
        raise _classified(error) from error
    except (TwilioException, requests.RequestException) as error:
        # The request may have reached Twilio (a read timeout, a connection cut after it left):
        # the retry looks it up before sending again.
        raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False, maybe_delivered=True) from error
    return Accepted(provider_id=message.sid, status=message.status)


def sms_find(
    *,
    to: str,
    body: str,
    since: datetime,
    exclude: frozenset[str] = frozenset(),
    compared: Callable[[str], str] = str,
) -> Accepted | None:
    """The message with this text Twilio took for `to` since `since`, if any: asked before
    sending again after a worker died, so that a message the provider has is not sent twice.

    Listed without a DateSent filter: Twilio filters that on the date a message left for the
    carrier, which is empty while it is still queued (the case of a worker killed while waiting
    for the answer). Creation dates are filtered here instead; `exclude` names earlier attempts
    the carrier refused, which must not be taken for this one. `compared` is what of a listed
    message's text is compared with `body` (the stored text holds no link tokens)."""
    floor = since.replace(microsecond=0) - CLOCK_SKEW
    try:
        found = twilio_client().messages.list(to=to, from_=settings.TWILIO_FROM_NUMBER, limit=200, page_size=200)
    except TwilioRestException as error:
        raise _classified(error) from error
    except (TwilioException, requests.RequestException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}", permanent=False) from error
    for message in found:
        created = message.date_created
        if message.sid in exclude or compared(message.body or "") != body or created is None or created < floor:
            continue
        return Accepted(provider_id=message.sid, status=message.status)
    return None


def _classified(error: TwilioRestException) -> DeliveryError:
    code = str(error.code or "")
    if error.status == 401 or code == "20003":
        # Our credentials, not the message: nothing to block, and worth an alert.
        logger.error(
            "Twilio refused the credentials (%s %s): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN", error.status, code
        )
        return DeliveryError(f"Twilio {error.status} {code}: {error.msg}", permanent=False, code=code)
    temporary = error.status in (429, 408) or error.status >= 500 or code == "20429"
    return DeliveryError(
        f"Twilio {error.status} {code}: {error.msg}",
        permanent=not temporary and (code in PERMANENT_CODES or 400 <= error.status < 500),
        code=code,
        block=BLOCKING_CODES.get(code, ""),
    )
