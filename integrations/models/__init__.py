"""Models of the integrations app: source systems, code mappings, the inbox."""

from integrations.models.inbox import ErrorKind, InboundMessage, MessageState, Transport
from integrations.models.sheets import SheetUpload, SheetUploadRow
from integrations.models.sources import MessageFormat, SheetDateOrder, SourceKind, SourceSystem, StatusMapping

__all__ = [
    "ErrorKind",
    "InboundMessage",
    "MessageFormat",
    "MessageState",
    "SheetDateOrder",
    "SheetUpload",
    "SheetUploadRow",
    "SourceKind",
    "SourceSystem",
    "StatusMapping",
    "Transport",
]
