"""Depot sheets: a CSV upload becomes one inbound message per row, marked as from paper."""

from django.db import transaction

from integrations.adapters import ParseError, csv_depot
from integrations.models import SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive


def depot_sheet_upload(*, source: SourceSystem, content: bytes, filename: str, user) -> int:
    """Store every filled-in row; returns how many were new (a re-uploaded row is a duplicate)."""
    text = _decode(content)
    created = 0
    with transaction.atomic():
        for number, row in csv_depot.rows(text):
            _message, is_new = inbound_message_receive(
                source=source,
                raw=row,
                transport=Transport.FILE,
                content_type="text/csv",
                provenance=f"paper sheet {filename}, row {number}",
                uploaded_by=user,
            )
            created += is_new
    return created


def _decode(content: bytes) -> str:
    # Spreadsheet programs save CSV as UTF-8 (often with a BOM) or, on older desktops, Windows-1252.
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise ParseError("the file is not a CSV text file")
