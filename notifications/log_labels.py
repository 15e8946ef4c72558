"""The delivery log in words: its steps, Twilio's statuses and error codes as people read them,
in their language. The codes stay in the database (and next to the words, for a search or a
ticket to Twilio's support)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from notifications.models import Channel, NotificationStatus

# Steps the log records besides the notification's own statuses.
STEPS = {
    "retry": _("Failed, will try again"),
    "rendered": _("Written, with variables missing"),
    "late answer": _("Answer after another attempt took over"),
    "late error": _("Error after another attempt took over"),
    "found at provider": _("Found at the provider, not sent again"),
    "superseded": _("Replaced by a new attempt"),
    "recipient removed": _("Without the updates of a removed contact"),
}
# What Twilio's status callbacks say (the log keeps Twilio's word).
PROVIDER_STATUSES = {
    "accepted": pgettext_lazy("twilio", "Provider: accepted"),
    "scheduled": pgettext_lazy("twilio", "Provider: scheduled"),
    "queued": pgettext_lazy("twilio", "Provider: queued"),
    "sending": pgettext_lazy("twilio", "Provider: sending"),
    "sent": pgettext_lazy("twilio", "Provider: sent to the carrier"),
    "delivered": pgettext_lazy("twilio", "Provider: delivered"),
    "read": pgettext_lazy("twilio", "Provider: read"),
    "undelivered": pgettext_lazy("twilio", "Provider: undelivered"),
    "failed": pgettext_lazy("twilio", "Provider: failed"),
    "canceled": pgettext_lazy("twilio", "Provider: canceled"),
}
# Twilio error codes (https://www.twilio.com/docs/api/errors) seen on messages.
ERROR_CODES = {
    "20003": _("Twilio refused our credentials"),
    "20429": _("Too many requests to Twilio"),
    "21211": _("Invalid phone number"),
    "21214": _("The number cannot be reached"),
    "21408": _("SMS to this country are not enabled"),
    "21606": _("Our sender number cannot send SMS"),
    "21610": _("The recipient replied STOP"),
    "21612": _("No route to this number"),
    "21614": _("Not a mobile number"),
    "21617": _("The message is too long"),
    "30003": _("The handset is switched off or unreachable"),
    "30004": _("Blocked by the recipient or carrier"),
    "30005": _("Unknown number or handset"),
    "30006": _("Landline or unreachable carrier"),
    "30007": _("Filtered by the carrier"),
    "30008": _("Unknown carrier error"),
    "30019": _("The content was refused"),
}


def log_status_label(code: str, *, callback: bool = False) -> str:
    """A log row's status in words. `callback`: the row records a provider's callback, whose
    status is Twilio's word (its "sent" is "to the carrier", not our "sent")."""
    if callback and code in PROVIDER_STATUSES:
        return str(PROVIDER_STATUSES[code])
    if code in NotificationStatus.values:
        return str(NotificationStatus(code).label)
    if code in STEPS:
        return str(STEPS[code])
    return str(PROVIDER_STATUSES.get(code, code))


def error_code_label(code: str) -> str:
    """ "21610" → "The recipient replied STOP (21610)"; an unknown code as it is."""
    if not code:
        return ""
    described = ERROR_CODES.get(code)
    return f"{described} ({code})" if described else _("error %(code)s") % {"code": code}


def channel_label(code: str) -> str:
    return str(Channel(code).label) if code in Channel.values else code
