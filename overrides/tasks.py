"""Periodic scans of the back office: stale-status alerts and discrepancies between sources."""

from dataclasses import asdict

from celery import shared_task

from overrides.services.alerts import stale_alerts_scan
from overrides.services.discrepancies import discrepancies_scan


@shared_task
def stale_alerts_scan_task() -> dict:
    """Open, escalate and resolve stale-status alerts. Idempotent against overlapping and
    repeated runs: one alert per breach (unique constraint), one escalation per due time."""
    return asdict(stale_alerts_scan())


@shared_task
def discrepancies_scan_task() -> int:
    """Open discrepancy cases and escalate overdue ones. Idempotent against overlapping and
    repeated runs: one case per fingerprint (unique), one escalation per due time."""
    return discrepancies_scan()
