"""Fixtures for the integrations tests: sources, mappings, signed webhook posts."""

import pytest

from integrations.models import MessageFormat, SourceKind, SourceSystem, StatusMapping, Transport
from integrations.signatures import signature_header
from tests.factories import OrderLineFactory

SECRET = "s3cret-for-tests-0123456789"


@pytest.fixture
def make_source(db):
    def make(code="wms-rtm", message_format=MessageFormat.CANONICAL_JSON, **fields) -> SourceSystem:
        defaults = {"name": code, "kind": SourceKind.WMS, "transport": Transport.WEBHOOK, "secret": SECRET}
        return SourceSystem.objects.create(code=code, message_format=message_format, **{**defaults, **fields})

    return make


@pytest.fixture
def canonical_source(make_source):
    return make_source("crm-json", MessageFormat.CANONICAL_JSON)


@pytest.fixture
def depot_source(make_source):
    source = make_source("depot-lyon", MessageFormat.CSV_DEPOT, kind=SourceKind.DEPOT, transport=Transport.FILE)
    for code, status in (("PICKED", "picking"), ("PACKED", "packed"), ("SHIPPED", "shipped")):
        StatusMapping.objects.create(source=source, external_code=code, status=status)
    return source


@pytest.fixture
def post_signed(client):
    """POST a body to a source's webhook, signed with `secret` (the test secret by default)."""

    def post(source_code: str, body: bytes | str, *, secret: str = SECRET, timestamp: int | None = None, **extra):
        data = body.encode() if isinstance(body, str) else body
        header = signature_header(secret=secret, source_code=source_code, body=data, timestamp=timestamp)
        return client.generic(
            "POST",
            f"/api/v1/inbound/{source_code}/",
            data,
            content_type=extra.pop("content_type", "application/json"),
            HTTP_X_SIGNATURE=header,
            **extra,
        )

    return post


@pytest.fixture
def order_line(db):
    """Order SO-1000001 line 10, quantity 5, ship partial with backorder."""
    return OrderLineFactory(order__number="SO-1000001", number="10", quantity=5)
