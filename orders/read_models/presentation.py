"""An order's view in the viewer's language: customer labels from the vocabulary table, times
as datetimes (templates show them in the viewer's zone) and the one-line summary."""

from dataclasses import dataclass, field

from django.core.cache import cache
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from orders.models import StatusDefinition

LABELS_CACHE_SECONDS = 300
TIME_KEYS = frozenset({"at", "eta", "delivered_at", "earliest_eta", "latest_eta", "last_location_at"})


def customer_labels(language: str | None = None) -> dict[str, dict[str, str]]:
    """{status: {"label", "description"}} in the active language (edited texts show within
    LABELS_CACHE_SECONDS)."""
    language = language or get_language() or "en"
    key = f"status-labels:{language}"
    labels = cache.get(key)
    if labels is None:
        labels = {
            definition.code: {"label": definition.customer_label, "description": definition.customer_description}
            for definition in StatusDefinition.objects.all()
        }
        cache.set(key, labels, LABELS_CACHE_SECONDS)
    return labels


@dataclass
class OrderPresentation:
    order: dict
    lines: list[dict]
    shipments: list[dict]
    timeline: list[dict]
    summary: str
    contacts: list[dict] = field(default_factory=list)
    # Timeline entries left out (the oldest), when only the newest are shown.
    timeline_hidden: int = 0

    @property
    def line_by_public_id(self) -> dict[str, dict]:
        return {line["public_id"]: line for line in self.lines}

    @property
    def shipped_lines(self) -> list[dict]:
        """The leaf lines that have left their site, those at their destination included, and that
        no known shipment carries: what the shipments' part says of them beside the shipments
        (all of them while no shipment is known)."""
        carried = {item["line_public_id"] for shipment in self.shipments for item in shipment["lines"]}
        return [
            line for line in self.lines if line["shipped"] and not line["is_split"] and line["public_id"] not in carried
        ]


def order_present(view: dict, *, labels: dict | None = None, timeline_limit: int | None = None) -> OrderPresentation:
    """The view with labels and datetimes, for a template (the view itself stays untouched: it
    is the cached copy); the timeline newest first, the newest `timeline_limit` entries only."""
    labels = customer_labels() if labels is None else labels
    timeline = view["timeline"][-timeline_limit:] if timeline_limit else view["timeline"]
    order = _labelled(view["order"], labels)
    if order.get("promised_date"):
        order["promised_date"] = parse_date(order["promised_date"])
    return OrderPresentation(
        order=order,
        lines=[_labelled(line, labels) for line in view["lines"]],
        shipments=[_labelled(shipment, labels) for shipment in view["shipments"]],
        timeline=[_labelled(entry, labels) for entry in reversed(timeline)],
        summary=customer_summary(view["counts"], labels),
        contacts=view.get("contacts", []),
        timeline_hidden=len(view["timeline"]) - len(timeline),
    )


def expected_present(part: dict) -> dict:
    """What the header says of when the parts are expected (leaves_expected's answer, or an
    order's view), with datetimes: templates/portal/includes/expected.html shows it."""
    return {
        "expected": part.get("expected", ""),
        "earliest_eta": parse_datetime(part["earliest_eta"]) if part.get("earliest_eta") else None,
        "latest_eta": parse_datetime(part["latest_eta"]) if part.get("latest_eta") else None,
    }


def _labelled(part: dict, labels: dict) -> dict:
    shown = dict(part)
    for key in TIME_KEYS & shown.keys():
        shown[key] = parse_datetime(shown[key]) if shown[key] else None
    if "status" in shown:
        text = labels.get(shown["status"], {})
        shown["label"] = text.get("label", shown["status"])
        shown["description"] = text.get("description", "")
    return shown


def customer_summary(counts: dict, labels: dict) -> str:
    """ "2 of 3 lines shipped · Being prepared: 1" in customer labels. Each status label starts a
    piece of its own, so it may keep its capital in every language (German nouns need it)."""
    if not counts["total"]:
        return _("All lines cancelled")
    pieces = [
        ngettext("%(shipped)d of %(total)d line shipped", "%(shipped)d of %(total)d lines shipped", counts["total"])
        % {"shipped": counts["shipped"], "total": counts["total"]}
    ]
    for status, count in sorted(counts["waiting"].items(), key=lambda item: (-item[1], item[0])):
        label = labels.get(status, {}).get("label", status)
        pieces.append(_("%(label)s: %(count)d") % {"label": label, "count": count})
    return " · ".join(pieces)
