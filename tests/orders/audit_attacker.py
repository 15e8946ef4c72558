"""What someone with write access to the database can do to the audit trail, for the tamper tests.

On PostgreSQL the append-only triggers refuse UPDATE and DELETE on the event tables; the
attacker here is a superuser who switched triggers off for the session
(`session_replication_role = replica`), to show that the keyed chain and its anchors still
catch what they did. SQLite has no triggers: the same statements simply run.
"""

from collections.abc import Callable
from contextlib import contextmanager

from django.db import connection
from django.test import override_settings

from orders.models import AuditAnchor, EventSuppression, OrderLine, StatusEvent
from orders.services.audit import event_hash

TABLES = {
    "events": StatusEvent._meta.db_table,
    "lines": OrderLine._meta.db_table,
    "suppressions": EventSuppression._meta.db_table,
    "anchors": AuditAnchor._meta.db_table,
}


@contextmanager
def triggers_disabled():
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def tamper(sql: str, params: list | tuple = ()) -> None:
    """Run `sql` ({events}, {lines}, {suppressions}, {anchors} name the tables) past the triggers."""
    quoted = {name: connection.ops.quote_name(table) for name, table in TABLES.items()}
    with triggers_disabled(), connection.cursor() as cursor:
        cursor.execute(sql.format(**quoted), params)


def chain_forge(
    line: OrderLine,
    *,
    edit: Callable[[StatusEvent], None] = lambda event: None,
    from_sequence: int = 1,
    key_id: str = "",
    guessed_key: bytes = b"a guess",
) -> None:
    """Edit the line's events from `from_sequence` on and recompute the chain after them, as
    someone without the audit key can: with the old unkeyed SHA-256 (key_id blank), or an HMAC
    under the real key id with a key they guessed. The line's head follows."""
    events = list(StatusEvent.objects.filter(line=line).order_by("sequence"))
    previous_hash = ""
    with override_settings(AUDIT_CHAIN_KEYS={key_id: guessed_key} if key_id else {}):
        for event in events:
            if event.sequence >= from_sequence:
                edit(event)
                event.key_id = key_id
                event.previous_hash = previous_hash
                event.hash = event_hash(event)
                tamper(
                    "UPDATE {events} SET to_status = %s, reason_code = %s, reason_text = %s, "
                    "previous_hash = %s, hash = %s, key_id = %s WHERE id = %s",
                    [
                        event.to_status,
                        event.reason_code,
                        event.reason_text,
                        event.previous_hash,
                        event.hash,
                        event.key_id,
                        event.pk,
                    ],
                )
            previous_hash = event.hash
    tamper("UPDATE {lines} SET audit_head = %s WHERE id = %s", [previous_hash, line.pk])


def chain_truncate(line: OrderLine, *, keep: int) -> None:
    """Delete the line's events after #`keep` and reset its head, count and status to the
    event kept last: a whole, shorter chain."""
    kept = StatusEvent.objects.get(line=line, sequence=keep)
    last_applied = (
        StatusEvent.objects.filter(line=line, sequence__lte=keep, outcome="applied").order_by("sequence").last()
    )
    tamper("DELETE FROM {events} WHERE line_id = %s AND sequence > %s", [line.pk, keep])
    tamper(
        "UPDATE {lines} SET audit_sequence = %s, audit_head = %s, status = %s WHERE id = %s",
        [keep, kept.hash, last_applied.to_status, line.pk],
    )
