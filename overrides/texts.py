"""Text the back office generates, stored as a code with parameters and written out in the
reader's language when shown: why an approval is needed, what a discrepancy is about.

A stored entry is {"code": ..., "params": {...}}; a status parameter is a status code, shown by
its label. Entries stored before codes (plain English) are shown as they are.
"""

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.status import IN_SENTENCE, LineStatus

APPROVAL_REASONS = {
    "bulk": None,  # plural: see approval_reason_text
    "backwards": _("moves a line backwards"),
    "unconfirmed_advance": _("advances to %(status)s without a source event"),
    "criticality_a": _("A-criticality part"),
    "hides_event": _("hides a status change from customers"),
}
DISCREPANCY_SUMMARIES = {
    "override_contested": _("%(source)s reports %(status)s; an override holds %(held)s"),
    "ledger_silent": _("%(leading)s says %(reported)s; %(ledger)s has reported nothing for this line"),
    "ledger_behind": _("%(leading)s says %(reported)s; %(ledger)s still says %(current)s"),
}
# Parameters that are status codes, and how each is written in the sentence.
STATUS_LABELS = {"status", "held"}
STATUS_IN_SENTENCE = {"reported", "current"}


def local_time_text(value, format_name: str = "SHORT_DATETIME_FORMAT") -> str:
    """A moment as plain text for the reader (an admin title, a list entry): in their time zone
    (active for the request), in their language's format, the zone named, as the `viewer_time`
    filter shows it in pages. A date format names no zone."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    shown = date_format(local, get_format(format_name))
    if "DATETIME" not in format_name or not timezone.is_aware(value):
        return shown
    return f"{shown} {date_format(local, 'T')}"


def coded(code: str, **params) -> dict:
    return {"code": code, "params": params}


def approval_reason_text(entry) -> str:
    if isinstance(entry, str):
        return entry
    code, params = entry.get("code", ""), entry.get("params", {})
    if code == "bulk":
        count = int(params.get("count", 0))
        return ngettext("bulk override of %(count)d line", "bulk override of %(count)d lines", count) % {"count": count}
    template = APPROVAL_REASONS.get(code)
    return str(template) % _shown(params) if template else code


def discrepancy_summary_text(code: str, params: dict, fallback: str) -> str:
    template = DISCREPANCY_SUMMARIES.get(code)
    return str(template) % _shown(params) if template else fallback


def _shown(params: dict) -> dict:
    shown = {}
    for name, value in params.items():
        if name in STATUS_LABELS and value in LineStatus.values:
            shown[name] = LineStatus(value).label
        elif name in STATUS_IN_SENTENCE and value in IN_SENTENCE:
            shown[name] = IN_SENTENCE[value]
        else:
            shown[name] = value if value not in ("", None) else "?"
    return shown
