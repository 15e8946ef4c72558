"""Fixtures of the config tests: the integrations' sources (webhooks through the ASGI application)."""

from tests.integrations.conftest import make_source  # noqa: F401
