"""A view narrowed to one line and the lines split from it (a status link for one line)."""

from orders.status import RANK, LineStatus

SHIPPED_RANK = RANK[LineStatus.SHIPPED]


def line_family(view: dict, line_public_id: str) -> set[str]:
    """The line and every line split from it, by public id."""
    family = {line_public_id}
    for line in view["lines"]:  # parents come before their children (line numbers sort so)
        if line["parent"] in family:
            family.add(line["public_id"])
    return family


def view_for_line(view: dict, line_public_id: str) -> dict:
    family = line_family(view, line_public_id)
    lines = [line for line in view["lines"] if line["public_id"] in family]
    leaves = [line for line in lines if not line["is_split"] and line["status"] != LineStatus.CANCELLED]
    shipped = [line for line in leaves if RANK.get(line["status"], -1) >= SHIPPED_RANK]
    waiting: dict[str, int] = {}
    for line in leaves:
        if line not in shipped:
            waiting[line["status"]] = waiting.get(line["status"], 0) + 1
    return {
        **view,
        "lines": lines,
        "shipments": [s for s in view["shipments"] if any(i["line_public_id"] in family for i in s["lines"])],
        "timeline": [entry for entry in view["timeline"] if entry["line_public_id"] in family],
        "counts": {"total": len(leaves), "shipped": len(shipped), "waiting": dict(sorted(waiting.items()))},
    }


def change_for_lines(change: dict, family: set[str]) -> dict | None:
    """The part of a change about the family (grown by lines newly split from it), or None."""
    narrowed = {"sequence": change["sequence"]}
    for line in change.get("lines", []):
        if line["parent"] in family:
            family.add(line["public_id"])
    if "lines" in change:
        narrowed["lines"] = [line for line in change["lines"] if line["public_id"] in family]
    if "shipments" in change:
        narrowed["shipments"] = [
            s for s in change["shipments"] if any(i["line_public_id"] in family for i in s["lines"])
        ]
    for key in ("timeline", "timeline_append"):
        if key in change:
            narrowed[key] = [entry for entry in change[key] if entry["line_public_id"] in family]
    return (
        narrowed
        if any(narrowed.get(key) for key in ("lines", "shipments", "timeline_append")) or ("timeline" in narrowed)
        else None
    )
