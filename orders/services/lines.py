"""A line edited by a person (in the admin): its site, planned ETA, tracking number and carrier,
or a new line. Published like every change of the core, so open pages and their reconnects
follow it in the order's sequence."""

from django.db import transaction

from orders.models import Order, OrderLine
from orders.publication import Topic
from orders.services.outbox import outbox_publish
from orders.services.rollup import order_rollup_refresh

# What a person may change on a line: where it ships from, the planned ETA and the carrier's
# tracking. Every other field (status and its times, split flags, the decision's start and
# latest fact, the held override, the audit chain) changes only through the core's services, and
# a new field is read-only in the admin until it is named here.
LINE_FIELDS_EDITABLE = ("site", "eta", "tracking_number", "carrier")
# A new line also needs where it belongs and what it is.
LINE_FIELDS_EDITABLE_ON_ADD = ("order", "number", "part", "quantity", *LINE_FIELDS_EDITABLE)
# What the order's rollup (status, progress, ETA range) is made of, of what a person may change.
_ROLLUP_FIELDS = frozenset({"eta"})


def line_edit_save(*, line: OrderLine, fields: list[str], adding: bool = False) -> OrderLine:
    """Save `line` as edited (`fields`: the names of what changed) and return the line as saved.
    When something changed, a line.edited row is published: live pages push what each audience
    is shown of it (portal.live), and the order's views take its new sequence as their version.

    An edited `line` may be older than the row (a form loaded before a source moved the line):
    only the changed fields a person may edit are taken from it, onto the row as it is now."""
    with transaction.atomic():
        # The lock order of every change: the order first, then its line.
        order = Order.objects.select_for_update().get(pk=line.order_id)
        previous_site_id = None
        if adding:
            line.save()
            changed = sorted(fields)
        else:
            changed = sorted(set(fields) & set(LINE_FIELDS_EDITABLE))
            edited, line = line, OrderLine.objects.select_for_update().get(pk=line.pk)
            if not changed:
                return line
            previous_site_id = line.site_id
            for name in changed:
                attname = OrderLine._meta.get_field(name).attname
                setattr(line, attname, getattr(edited, attname))
            line.save(update_fields=[*changed, "updated_at"])
        if adding or _ROLLUP_FIELDS.intersection(changed):
            # The order shows its lines' rollup (its ETA range, status, progress): it moves the
            # order's updated_at like any change of it, so `updated_since` readers of the API
            # see it, and a writer that waited for the order's lock reads the new line.
            order_rollup_refresh(order_id=order.pk)
        payload = {
            "order_id": line.order_id,
            "line_id": line.pk,
            "line_number": line.number,
            "fields": changed,
            "added": adding,
        }
        if "site" in changed and previous_site_id != line.site_id:
            # The people of the site it left see the change too (overrides.live).
            payload["previous_site_id"] = previous_site_id
        outbox_publish(topic=Topic.LINE_EDITED, order=order, payload=payload)
    return line
