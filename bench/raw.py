"""The raw ceiling: the same writes per event as the pipeline's minimum (an inbox row, an event
row, a line update), one transaction per event, from a plain psycopg loop into scratch tables."""

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import psycopg

STEPS = ("released", "allocated", "picking", "packed", "shipped")

SCRATCH_TABLES = """
DROP TABLE IF EXISTS bench_raw_event, bench_raw_inbox, bench_raw_line;
CREATE TABLE bench_raw_line (
    id bigint PRIMARY KEY,
    status varchar(20) NOT NULL,
    status_occurred_at timestamptz,
    audit_sequence integer NOT NULL DEFAULT 0,
    audit_head varchar(64) NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL
);
CREATE TABLE bench_raw_inbox (
    id bigserial PRIMARY KEY,
    message_id varchar(120) NOT NULL UNIQUE,
    raw text NOT NULL,
    state varchar(12) NOT NULL,
    received_at timestamptz NOT NULL,
    processed_at timestamptz
);
CREATE TABLE bench_raw_event (
    id bigserial PRIMARY KEY,
    line_id bigint NOT NULL REFERENCES bench_raw_line (id),
    sequence integer NOT NULL,
    from_status varchar(20) NOT NULL,
    to_status varchar(20) NOT NULL,
    occurred_at timestamptz NOT NULL,
    inbound_message_id bigint NOT NULL,
    fact_key varchar(64) NOT NULL,
    hash varchar(64) NOT NULL,
    UNIQUE (line_id, sequence),
    UNIQUE (line_id, fact_key)
);
"""


def raw_ceiling(conninfo: str, *, events: int, lines: int) -> dict:
    """Events per second of the loop; the scratch tables are dropped afterwards."""
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(SCRATCH_TABLES)
        now = datetime.now(UTC)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bench_raw_line (id, status, updated_at) VALUES (%s, 'received', %s)",
                [(n, now) for n in range(lines)],
            )
        connection.autocommit = False
        started = time.perf_counter()
        for n in range(events):
            line_id, step = n % lines, STEPS[(n // lines) % len(STEPS)]
            occurred_at = start + timedelta(minutes=n // lines, seconds=line_id)
            raw = json.dumps({"message_id": f"raw-{n}", "statuses": [{"line": line_id, "status": step}]})
            key = hashlib.sha256(f"{line_id}|{step}|{occurred_at.isoformat()}".encode()).hexdigest()
            with connection.transaction():
                message_id = connection.execute(
                    "INSERT INTO bench_raw_inbox (message_id, raw, state, received_at, processed_at)"
                    " VALUES (%s, %s, 'processed', now(), now()) RETURNING id",
                    (f"raw-{n}", raw),
                ).fetchone()[0]
                sequence, head = connection.execute(
                    "UPDATE bench_raw_line SET status = %s, status_occurred_at = %s,"
                    " audit_sequence = audit_sequence + 1, audit_head = %s, updated_at = now()"
                    " WHERE id = %s RETURNING audit_sequence, audit_head",
                    (step, occurred_at, key, line_id),
                ).fetchone()
                connection.execute(
                    "INSERT INTO bench_raw_event (line_id, sequence, from_status, to_status, occurred_at,"
                    " inbound_message_id, fact_key, hash) VALUES (%s, %s, '', %s, %s, %s, %s, %s)",
                    (line_id, sequence, step, occurred_at, message_id, key, head),
                )
        seconds = time.perf_counter() - started
        connection.autocommit = True
        connection.execute("DROP TABLE bench_raw_event, bench_raw_inbox, bench_raw_line")
    return {"events": events, "seconds": seconds, "per_second": events / seconds}
