"""Reactions of the back office to changes the core publishes."""

from orders.models import OutboxEvent
from orders.publication import Topic, register_handler
from overrides.services.discrepancies import discrepancy_open_for_contested_override


def on_override_contested(event: OutboxEvent) -> None:
    discrepancy_open_for_contested_override(
        line_id=event.payload["line_id"], event_id=event.payload["event_id"], held_status=event.payload["held_status"]
    )


def register() -> None:
    register_handler(name="overrides.contested", topics=[Topic.OVERRIDE_CONTESTED], handler=on_override_contested)
