"""Format adapters: one module per message format, each a pure parse function."""

from types import ModuleType

from integrations.adapters import canonical_json, csv_depot, mqtt_scan, sap_idoc_xml, x12_214
from integrations.adapters.base import (
    AdapterError,
    LineSelector,
    ParsedLine,
    ParsedMessage,
    ParsedOrder,
    ParsedStatus,
    ParseError,
)

ADAPTERS: dict[str, ModuleType] = {
    "canonical_json": canonical_json,
    "sap_idoc_xml": sap_idoc_xml,
    "x12_214": x12_214,
    "csv_depot": csv_depot,
    "mqtt_scan": mqtt_scan,
}


def adapter_for(message_format: str) -> ModuleType:
    return ADAPTERS[message_format]


__all__ = [
    "ADAPTERS",
    "AdapterError",
    "LineSelector",
    "ParseError",
    "ParsedLine",
    "ParsedMessage",
    "ParsedOrder",
    "ParsedStatus",
    "adapter_for",
]
