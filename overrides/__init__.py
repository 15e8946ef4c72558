"""Roles, manual overrides with justification and approval, escalations; built by a later issue."""
