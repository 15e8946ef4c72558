"""Writes of the back office: override requests and approvals, alerts, discrepancies,
reconciliations and access reviews."""
