"""What changed between two views of an order: the part a live page needs, not the whole order."""

from orders.read_models.presentation import customer_summary


def view_changes(before: dict | None, after: dict) -> dict:
    """{"sequence", "order", "lines", "shipments", "timeline", "counts"}: only the parts that
    differ (lines and shipments by public id; timeline entries appended, or all of them when
    one disappeared, e.g. hidden from customers). Without an earlier view: {"state": after}."""
    sequence = after["order"]["sequence"]
    if before is None:
        return {"sequence": sequence, "state": after}
    change: dict = {"sequence": sequence}
    if before["order"] != after["order"]:
        change["order"] = after["order"]
    if before["counts"] != after["counts"]:
        change["counts"] = after["counts"]
    for part in ("lines", "shipments"):
        earlier = {item["public_id"]: item for item in before[part]}
        changed = [item for item in after[part] if earlier.get(item["public_id"]) != item]
        if changed or len(earlier) != len(after[part]):
            change[part] = changed
    before_ids = [entry["id"] for entry in before["timeline"]]
    after_ids = [entry["id"] for entry in after["timeline"]]
    if after_ids[: len(before_ids)] == before_ids:
        if len(after_ids) > len(before_ids):
            change["timeline_append"] = after["timeline"][len(before_ids) :]
    else:
        change["timeline"] = after["timeline"]
    return change


def localize_change(change: dict, labels: dict) -> dict:
    """The change with labels for the viewer's language (and the summary, when counts changed)."""
    localized = dict(change)
    if "state" in change:
        state = change["state"]
        localized["state"] = {
            **state,
            "order": _label(state["order"], labels),
            "lines": [_label(line, labels) for line in state["lines"]],
            "timeline": [_label(entry, labels) for entry in state["timeline"]],
            "summary": customer_summary(state["counts"], labels),
        }
        return localized
    if "order" in change:
        localized["order"] = _label(change["order"], labels)
    for key in ("lines", "timeline", "timeline_append"):
        if key in change:
            localized[key] = [_label(item, labels) for item in change[key]]
    if "counts" in change:
        localized["summary"] = customer_summary(change["counts"], labels)
    return localized


def _label(part: dict, labels: dict) -> dict:
    text = labels.get(part.get("status"), {})
    return {
        **part,
        "label": str(text.get("label", part.get("status", ""))),
        "description": str(text.get("description", "")),
    }
