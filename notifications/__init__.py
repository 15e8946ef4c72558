"""Email and SMS notifications by rules tied to part criticality; built by a later issue."""
