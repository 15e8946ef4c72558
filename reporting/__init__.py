"""Transition analytics, SLA breaches, anomalies and exports; built by a later issue."""
