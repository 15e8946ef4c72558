"""Text stored in English before codes: approval reasons and discrepancy summaries become codes
with parameters, so that each reader sees them in their language. What is not recognised stays as
it was (shown as written)."""

import re

from django.db import migrations

# The English sentences the code wrote, and the status words it put into them.
STATUS_LABELS = {
    "Received": "received", "Released": "released", "Awaiting part": "awaiting_part", "Allocated": "allocated",
    "Picking": "picking", "Awaiting kitting": "awaiting_kitting", "Packed": "packed", "Shipped": "shipped",
    "In transit": "in_transit", "Out for delivery": "out_for_delivery", "Delivered": "delivered",
    "Verified on site": "verified", "On hold": "on_hold", "Exception": "exception", "Cancelled": "cancelled",
    "Returned": "returned",
}  # fmt: skip
IN_SENTENCE = {
    "received": "received", "released": "released", "awaiting part": "awaiting_part", "allocated": "allocated",
    "being picked": "picking", "awaiting kitting": "awaiting_kitting", "packed": "packed", "shipped": "shipped",
    "in transit": "in_transit", "out for delivery": "out_for_delivery", "delivered": "delivered",
    "verified on site": "verified", "on hold": "on_hold", "with an exception": "exception",
    "cancelled": "cancelled", "returned": "returned",
}  # fmt: skip
SENTENCE = "|".join(sorted(map(re.escape, IN_SENTENCE), key=len, reverse=True))
LABEL = "|".join(sorted(map(re.escape, STATUS_LABELS), key=len, reverse=True))


def _reason(text):
    if not isinstance(text, str):
        return text
    if match := re.fullmatch(r"bulk override of (\d+) lines?", text):
        return {"code": "bulk", "params": {"count": int(match[1])}}
    fixed = {
        "moves a line backwards": "backwards",
        "A-criticality part": "criticality_a",
        "hides a status change from customers": "hides_event",
    }
    if text in fixed:
        return {"code": fixed[text], "params": {}}
    if (match := re.fullmatch(rf"advances to ({LABEL}) without a source event", text)) is not None:
        return {"code": "unconfirmed_advance", "params": {"status": STATUS_LABELS[match[1]]}}
    return text


def _summary(text):
    if match := re.fullmatch(rf"(.+) reports ({LABEL}); an override holds ({LABEL}|\?)", text):
        return "override_contested", {
            "source": match[1],
            "status": STATUS_LABELS[match[2]],
            "held": STATUS_LABELS.get(match[3], ""),
        }
    if match := re.fullmatch(rf"(.+) says ({SENTENCE}); (.+) has reported nothing for this line", text):
        return "ledger_silent", {"leading": match[1], "reported": IN_SENTENCE[match[2]], "ledger": match[3]}
    if match := re.fullmatch(rf"(.+) says ({SENTENCE}); (.+) still says ({SENTENCE})", text):
        return "ledger_behind", {
            "leading": match[1],
            "reported": IN_SENTENCE[match[2]],
            "ledger": match[3],
            "current": IN_SENTENCE[match[4]],
        }
    return "", {}


def forwards(apps, schema_editor):
    OverrideRequest = apps.get_model("overrides", "OverrideRequest")
    changed = []
    for request in OverrideRequest.objects.exclude(approval_reasons=[]).only("pk", "approval_reasons"):
        coded = [_reason(reason) for reason in request.approval_reasons]
        if coded != request.approval_reasons:
            request.approval_reasons = coded
            changed.append(request)
    OverrideRequest.objects.bulk_update(changed, ["approval_reasons"], batch_size=500)
    Discrepancy = apps.get_model("overrides", "Discrepancy")
    changed = []
    for discrepancy in Discrepancy.objects.filter(summary_code="").only("pk", "summary"):
        code, params = _summary(discrepancy.summary)
        if code:
            discrepancy.summary_code, discrepancy.summary_params = code, params
            changed.append(discrepancy)
    Discrepancy.objects.bulk_update(changed, ["summary_code", "summary_params"], batch_size=500)


def backwards(apps, schema_editor):
    """The English text is kept beside the codes (summaries) or written back (approval reasons)."""
    OverrideRequest = apps.get_model("overrides", "OverrideRequest")
    from overrides.texts import approval_reason_text

    changed = []
    for request in OverrideRequest.objects.exclude(approval_reasons=[]).only("pk", "approval_reasons"):
        request.approval_reasons = [approval_reason_text(reason) for reason in request.approval_reasons]
        changed.append(request)
    OverrideRequest.objects.bulk_update(changed, ["approval_reasons"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("overrides", "0003_coded_texts_and_from_statuses")]

    operations = [migrations.RunPython(forwards, backwards)]
