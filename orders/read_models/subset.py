"""A view narrowed to one line and the lines split from it (a status link for one line): its
header, progress and summary are those of these lines only, never the order's."""

from orders.read_models.header import lines_counts, lines_header


def line_family(view: dict, line_public_id: str) -> set[str]:
    """The line and every line split from it, by public id."""
    family = {line_public_id}
    for line in view["lines"]:  # parents come before their children (line numbers sort so)
        if line["parent"] in family:
            family.add(line["public_id"])
    return family


def view_for_line(view: dict, line_public_id: str) -> dict:
    family = line_family(view, line_public_id)
    return view_for_lines(view, family)


def view_for_lines(view: dict, family: set[str]) -> dict:
    lines = [line for line in view["lines"] if line["public_id"] in family]
    return {
        **view,
        "order": {**view["order"], **lines_header(lines)} if lines else view["order"],
        "lines": lines,
        "shipments": [s for s in view["shipments"] if any(i["line_public_id"] in family for i in s["lines"])],
        "timeline": [entry for entry in view["timeline"] if entry["line_public_id"] in family],
        "counts": lines_counts(lines),
    }


def view_apply(view: dict, change: dict) -> dict:
    """The view a client holding `view` has after `change` (a view_changes() answer)."""
    if "state" in change:
        return change["state"]
    after = {**view, "order": {**view["order"], **change.get("order", {}), "sequence": change["sequence"]}}
    for part in ("lines", "shipments"):
        if part in change:
            changed = {item["public_id"]: item for item in change[part]}
            known = {item["public_id"] for item in view[part]}
            after[part] = [changed.get(item["public_id"], item) for item in view[part]] + [
                item for item in change[part] if item["public_id"] not in known
            ]
    if "timeline" in change:
        after["timeline"] = change["timeline"]
    elif "timeline_append" in change:
        seen = {entry["id"] for entry in view["timeline"]}
        after["timeline"] = view["timeline"] + [entry for entry in change["timeline_append"] if entry["id"] not in seen]
    if "counts" in change:
        after["counts"] = change["counts"]
    return after
