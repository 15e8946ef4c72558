"""Models of the back office: override requests, alerts and escalations, discrepancies,
reconciliations and access reviews."""

from overrides.models.access import AccessReview, AccessReviewItem
from overrides.models.alerts import EscalationStep, StaleAlert, StaleStatusRule
from overrides.models.discrepancies import Discrepancy, DiscrepancyRule
from overrides.models.reconciliation import ReconciliationItem, ReconciliationRun
from overrides.models.requests import OverrideReason, OverrideRequest

__all__ = [
    "AccessReview",
    "AccessReviewItem",
    "Discrepancy",
    "DiscrepancyRule",
    "EscalationStep",
    "OverrideReason",
    "OverrideRequest",
    "ReconciliationItem",
    "ReconciliationRun",
    "StaleAlert",
    "StaleStatusRule",
]
