"""What an order's header and summary say, computed from the lines a viewer is shown: the whole
order's lines, or a status link's one line and the lines split from it. The same rules as the
order's rollup (orders.services.rollup), applied to the shown (customer) statuses, so a page
never says more than its lines, nor something else."""

from collections import Counter
from datetime import datetime
from decimal import Decimal

from orders.services.rollup import rolled_up_status
from orders.status import INTERRUPTIONS, LineStatus

ARRIVED = frozenset({LineStatus.DELIVERED, LineStatus.VERIFIED})
NOT_COUNTED = frozenset({LineStatus.CANCELLED, LineStatus.RETURNED})


class Expected:
    """What an order's header promises about delivery (its "expected" field)."""

    COMPLETE = "complete"  # every part still to come has an ETA: complete by the latest of them
    NOT_KNOWN = "not_known"  # a part still to come has no ETA: no completion date is promised
    DELIVERED = "delivered"  # every part is at its destination
    NOTHING = ""  # nothing to deliver (every line cancelled or returned)


def lines_header(lines: list[dict]) -> dict:
    """{"status", "progress", "expected", "earliest_eta", "latest_eta"} of the lines' leaves."""
    leaves = [line for line in lines if not line["is_split"]]
    counted = [line for line in leaves if line["status"] not in NOT_COUNTED]
    total_quantity = sum(line["quantity"] for line in counted)
    progress = Decimal("0.00")
    if total_quantity:
        weighted = sum(Decimal(line["quantity"]) * Decimal(str(line["progress"])) for line in counted)
        progress = (weighted / total_quantity).quantize(Decimal("0.01"))
    return {
        "status": rolled_up_status([line["status"] for line in leaves]),
        "progress": float(progress),
        **leaves_expected(leaves),
    }


def leaves_expected(leaves: list[dict]) -> dict:
    """{"expected", "earliest_eta", "latest_eta"}: when the parts still to come are expected
    (leaf lines' customer "status" and shown "eta"). A customer reads the date as the day the
    order is complete, so it is the latest ETA, and only when every part still to come has one;
    the earliest is the next part's."""
    counted = [line for line in leaves if line["status"] not in NOT_COUNTED]
    to_come = [line for line in counted if line["status"] not in ARRIVED]
    etas = sorted((datetime.fromisoformat(line["eta"]), line["eta"]) for line in to_come if line["eta"])
    if not counted:
        expected = Expected.NOTHING
    elif not to_come:
        expected = Expected.DELIVERED
    elif len(etas) == len(to_come):
        expected = Expected.COMPLETE
    else:
        expected = Expected.NOT_KNOWN
    return {
        "expected": expected,
        "earliest_eta": etas[0][1] if etas else None,
        "latest_eta": etas[-1][1] if etas else None,
    }


def lines_counts(lines: list[dict]) -> dict:
    """What the one-line summary says, counted over the leaf lines still active: how many have
    shipped, and the status of each line still waiting or stopped (a hold or an exception shows
    on a shipped line too: the summary never hides one)."""
    active = [line for line in lines if not line["is_split"] and line["status"] != LineStatus.CANCELLED]
    shipped = [line for line in active if line["shipped"]]
    waiting = Counter(line["status"] for line in active if not line["shipped"] or line["status"] in INTERRUPTIONS)
    return {"total": len(active), "shipped": len(shipped), "waiting": dict(sorted(waiting.items()))}
