"""REST API v1 of the status core, for CRMs and partner systems."""
