"""Models of the integrations app: source systems, code mappings, the inbox."""

from integrations.models.inbox import ErrorKind, InboundMessage, MessageState, Transport
from integrations.models.sources import MessageFormat, SourceKind, SourceSystem, StatusMapping

__all__ = [
    "ErrorKind",
    "InboundMessage",
    "MessageFormat",
    "MessageState",
    "SourceKind",
    "SourceSystem",
    "StatusMapping",
    "Transport",
]
