"""Demo data for the seed_demo command: a believable service network and order histories.

Nothing here runs in production paths; statuses only ever change through orders.services.
"""
