"""Models of the integrations app: source systems, code mappings, the inbox."""

from integrations.models.inbox import InboundMessage, MessageState, Transport
from integrations.models.sources import MessageFormat, SourceKind, SourceSystem, StatusMapping

__all__ = [
    "InboundMessage",
    "MessageFormat",
    "MessageState",
    "SourceKind",
    "SourceSystem",
    "StatusMapping",
    "Transport",
]
