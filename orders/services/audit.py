"""The per-line audit chain over StatusEvent rows: keyed hashes, anchors kept outside the event
tables, and the verification of both, of the line status the chain gives and of suppressions.

Each event's hash is an HMAC-SHA256, with a key kept outside the database
(settings.AUDIT_CHAIN_KEYS, the key's id stored on the row), of its content and the previous
event's hash; the line keeps the head. Without the key nobody can rewrite an event and
recompute the chain. A chain cut short with its head reset is still a valid chain: the anchors
(AuditAnchor rows and a signed daily digest file, both written only by the verifier) remember
how far every line's chain reached. Rows written before the chain was keyed carry a plain
SHA-256 and verify with it, counted as unkeyed.
"""

import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import AuditAnchor, EventOutcome, EventSuppression, OrderLine, OutboxEvent, StatusEvent
from orders.publication import Topic
from orders.services.outbox import outbox_publish
from orders.suppression_approvals import suppressions_approved

HASHED_FIELDS = (
    "line_id",
    "order_id",
    "sequence",
    "from_status",
    "to_status",
    "outcome",
    "occurred_at",
    "received_at",
    "applied_at",
    "actor_kind",
    "actor_user_id",
    "actor_label",
    "approved_by_id",
    "source_system",
    "inbound_message_id",
    "reason_code",
    "reason_text",
    "fact_key",
    "previous_hash",
)
# Covered once set: rows written before they existed keep the hash they were written with.
HASHED_WHEN_SET = ("kind", "source_sequence", "key_id")

# The same break is alerted again after this long, so that it is not forgotten.
ALERT_REPEAT_AFTER = timedelta(days=1)
ALERT_PROBLEMS_LISTED = 20
DIGEST_FORMAT = "partstatus-audit-digest/1"
DIGEST_PREFIX = "audit-digest-"
CHUNK = 500


class UnknownAuditKey(Exception):
    """A row names a key id that settings.AUDIT_CHAIN_KEYS does not hold."""


def _canonical(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _key(key_id: str) -> bytes:
    try:
        return settings.AUDIT_CHAIN_KEYS[key_id]
    except KeyError:
        raise UnknownAuditKey(key_id) from None


def _mac(key_id: str, message: bytes) -> str:
    return hmac.new(_key(key_id), message, hashlib.sha256).hexdigest()


def event_hash(event: StatusEvent) -> str:
    """The HMAC of the event under its key id; a plain SHA-256 for rows without one (unkeyed)."""
    content = {name: _canonical(getattr(event, name)) for name in HASHED_FIELDS}
    content.update(
        {name: _canonical(getattr(event, name)) for name in HASHED_WHEN_SET if getattr(event, name) not in ("", None)}
    )
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    if event.key_id:
        return _mac(event.key_id, encoded)
    return hashlib.sha256(encoded).hexdigest()


def audit_chain_append(*, line: OrderLine, event: StatusEvent) -> None:
    """Give `event` the next place in the line's chain, signed with the current key, and move
    the line's head to it."""
    event.sequence = line.audit_sequence + 1
    event.previous_hash = line.audit_head
    event.key_id = settings.AUDIT_CHAIN_KEY_ID
    event.hash = event_hash(event)
    line.audit_sequence = event.sequence
    line.audit_head = event.hash


def _anchor_message(*, line_id: int, sequence: int, head: str, anchored_at: datetime) -> bytes:
    return f"anchor|{line_id}|{sequence}|{head}|{_canonical(anchored_at)}".encode()


def anchor_signature(anchor: AuditAnchor) -> str:
    return _mac(
        anchor.key_id,
        _anchor_message(
            line_id=anchor.line_id, sequence=anchor.sequence, head=anchor.head, anchored_at=anchor.anchored_at
        ),
    )


@dataclass(frozen=True)
class AuditProblem:
    # None: a problem of the digest file rather than of one line.
    line_id: int | None
    sequence: int
    problem: str

    def __str__(self) -> str:
        if self.line_id is None:
            return self.problem
        return _("line %(line)s event #%(sequence)d: %(problem)s") % {
            "line": self.line_id,
            "sequence": self.sequence,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class Digest:
    """The newest daily digest file: every line's anchored (sequence, head)."""

    name: str
    day: str
    entries: dict[int, tuple[int, str]]


@dataclass
class AuditReport:
    problems: list[AuditProblem] = field(default_factory=list)
    lines_checked: int = 0
    unkeyed_events: int = 0
    # Every line's whole scope was checked (not only some lines): its heads may go to a digest.
    complete: bool = False
    # (sequence, head) of the lines found intact, and the newest validly signed anchor per line.
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    anchored: dict[int, tuple[int, str]] = field(default_factory=dict)
    digest: Digest | None = None

    @property
    def broken_line_ids(self) -> list[int]:
        return sorted({problem.line_id for problem in self.problems if problem.line_id is not None})


def audit_chain_verify(*, line_ids: list[int] | None = None) -> list[AuditProblem]:
    """Every altered, missing, re-linked or unanchored event of the given lines (all by default),
    every line whose status its chain does not give, every suppression without its request."""
    return audit_chain_check(line_ids=line_ids).problems


def audit_chain_check(*, line_ids: list[int] | None = None) -> AuditReport:
    report = AuditReport(complete=line_ids is None)
    report.digest = _digest_latest(report)
    ids = OrderLine.objects.order_by("pk").values_list("pk", flat=True)
    if line_ids is not None:
        ids = ids.filter(pk__in=line_ids)
    ids = list(ids)
    report.lines_checked = len(ids)
    for start in range(0, len(ids), CHUNK):
        with _snapshot():
            _check_chunk(report, ids[start : start + CHUNK])
    if report.digest is not None:
        wanted = set(report.digest.entries) if line_ids is None else set(line_ids) & set(report.digest.entries)
        for line_id in sorted(wanted - set(ids)):
            report.problems.append(
                AuditProblem(
                    line_id,
                    report.digest.entries[line_id][0],
                    _("the line is in the digest of %(day)s but no longer in the database")
                    % {"day": report.digest.day},
                )
            )
    return report


@contextmanager
def _snapshot():
    """One consistent view of a chunk's lines, events and anchors, so that a fact recorded
    meanwhile is not taken for a mismatched head (PostgreSQL reads committed rows per statement)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _check_chunk(report: AuditReport, ids: list[int]) -> None:
    lines = list(
        OrderLine.objects.filter(pk__in=ids).order_by("pk").only("pk", "status", "audit_sequence", "audit_head")
    )
    events: dict[int, list[StatusEvent]] = {line.pk: [] for line in lines}
    for event in StatusEvent.objects.filter(line_id__in=events).order_by("line_id", "sequence"):
        events[event.line_id].append(event)
    anchors: dict[int, list[AuditAnchor]] = {line.pk: [] for line in lines}
    for anchor in AuditAnchor.objects.filter(line_id__in=anchors).order_by("line_id", "sequence"):
        anchors[anchor.line_id].append(anchor)
    suppressions = list(
        EventSuppression.objects.filter(event__line_id__in=events)
        .select_related("event")
        .only("pk", "event_id", "suppressed_by_id", "approved_by_id", "event__line_id", "event__sequence")
    )
    approved = suppressions_approved(suppressions)
    unapproved: dict[int, list[StatusEvent]] = {}
    for suppression in suppressions:
        if suppression.pk not in approved:
            unapproved.setdefault(suppression.event.line_id, []).append(suppression.event)
    digest = report.digest.entries if report.digest is not None else {}
    for line in lines:
        before = len(report.problems)
        _verify_line(report, line, events[line.pk], anchors[line.pk], digest.get(line.pk))
        for event in sorted(unapproved.get(line.pk, []), key=lambda event: event.sequence):
            report.problems.append(
                AuditProblem(line.pk, event.sequence, _("hidden from customers without an approved request"))
            )
        if len(report.problems) == before and events[line.pk]:
            last = events[line.pk][-1]
            report.heads[line.pk] = (last.sequence, last.hash)


def _verify_line(
    report: AuditReport,
    line: OrderLine,
    events: list[StatusEvent],
    anchors: list[AuditAnchor],
    digest_entry: tuple[int, str] | None,
) -> None:
    problems = report.problems

    def problem(sequence: int, text: str) -> None:
        problems.append(AuditProblem(line.pk, sequence, text))

    valid_anchors = []
    for anchor in anchors:
        try:
            signed = hmac.compare_digest(anchor_signature(anchor), anchor.signature)
        except UnknownAuditKey:
            signed = False
        if signed:
            valid_anchors.append(anchor)
        else:
            problem(anchor.sequence, _("its anchor is not signed with a configured audit key"))
    if valid_anchors:
        report.anchored[line.pk] = (valid_anchors[-1].sequence, valid_anchors[-1].head)
    # Unkeyed rows are the ones written before keying: the first anchor saw them all.
    unkeyed_until = valid_anchors[0].sequence if valid_anchors else None

    # Keys in the order they were in use: retired ones oldest first, then the current one.
    key_rank = {key_id: rank for rank, key_id in enumerate(settings.AUDIT_CHAIN_KEYS)}
    previous_hash = ""
    expected_sequence = 1
    keyed_seen = False
    newest_rank = -1
    for event in events:
        if event.sequence != expected_sequence:
            problem(expected_sequence, _("missing (next row found is #%(sequence)d)") % {"sequence": event.sequence})
        if event.previous_hash != previous_hash:
            problem(event.sequence, _("does not link to the event before it"))
        if event.key_id:
            keyed_seen = True
            rank = key_rank.get(event.key_id, newest_rank)
            if rank < newest_rank:
                problem(event.sequence, _("signed with a key retired before the one of an earlier event"))
            newest_rank = max(newest_rank, rank)
            try:
                intact = hmac.compare_digest(event_hash(event), event.hash)
            except UnknownAuditKey:
                problem(
                    event.sequence,
                    _("signed with the key “%(key)s”, which is not configured") % {"key": event.key_id},
                )
                intact = True  # cannot tell; already reported
            if not intact:
                problem(event.sequence, _("content altered (hash mismatch)"))
        else:
            if event_hash(event) != event.hash:
                problem(event.sequence, _("content altered (hash mismatch)"))
            elif keyed_seen:
                problem(event.sequence, _("unkeyed hash after keyed events (the chain was rewritten)"))
            elif unkeyed_until is not None and event.sequence > unkeyed_until:
                problem(event.sequence, _("unkeyed hash written after the chain was anchored"))
            else:
                report.unkeyed_events += 1
        previous_hash = event.hash
        expected_sequence = event.sequence + 1
    if line.audit_sequence != len(events) and line.audit_sequence >= expected_sequence:
        problem(
            line.audit_sequence,
            _("missing (the line has recorded %(count)d events)") % {"count": line.audit_sequence},
        )
    elif line.audit_head != previous_hash:
        problem(line.audit_sequence, _("the line's chain head does not match"))

    by_sequence = {event.sequence: event for event in events}

    def reaches(sequence: int, head: str) -> bool:
        event = by_sequence.get(sequence)
        return event is not None and hmac.compare_digest(event.hash, head)

    for anchor in reversed(valid_anchors):
        if not reaches(anchor.sequence, anchor.head):
            problem(
                anchor.sequence,
                _("the chain no longer reaches its anchor of %(when)s")
                % {"when": anchor.anchored_at.astimezone(UTC).isoformat(timespec="seconds")},
            )
            break
    if digest_entry is not None and not reaches(*digest_entry):
        problem(
            digest_entry[0],
            _("the chain no longer reaches the digest of %(day)s") % {"day": report.digest.day},
        )

    applied = [event for event in events if event.outcome == EventOutcome.APPLIED]
    if applied and applied[-1].to_status != line.status:
        problem(
            applied[-1].sequence,
            _("the line's status “%(status)s” is not the “%(expected)s” its last applied event gives")
            % {"status": line.status, "expected": applied[-1].to_status},
        )


def audit_chain_anchor(*, report: AuditReport, now: datetime | None = None) -> int:
    """Anchor the heads of the lines the report found intact (rows in AuditAnchor, signed), and
    after a check of every line write the day's signed digest file. Returns how many anchors
    were written. Lines found broken keep their last anchor (and digest entry): the break stays
    visible."""
    now = now or timezone.now()
    key_id = settings.AUDIT_CHAIN_KEY_ID
    anchors = []
    for line_id, (sequence, head) in sorted(report.heads.items()):
        if report.anchored.get(line_id) == (sequence, head):
            continue
        anchor = AuditAnchor(line_id=line_id, sequence=sequence, head=head, anchored_at=now, key_id=key_id)
        anchor.signature = anchor_signature(anchor)
        anchors.append(anchor)
    # Two verifiers at once anchor the same heads: the second one's rows are dropped.
    AuditAnchor.objects.bulk_create(anchors, ignore_conflicts=True)
    # A forged or damaged digest file stays the newest one until a person looks into it.
    digest_intact = not any(problem.line_id is None for problem in report.problems)
    if report.complete and digest_intact:
        previous = report.digest.entries if report.digest is not None else {}
        entries = {}
        for line_id in report.broken_line_ids:
            entry = previous.get(line_id) or report.anchored.get(line_id)
            if entry is not None:
                entries[line_id] = entry
        entries.update(report.heads)
        _digest_write(entries, now=now)
    return len(anchors)


def audit_chain_watch(*, now: datetime | None = None) -> AuditReport:
    """The scheduled check: verify every line, anchor the intact heads (rows and the day's
    digest file) and, on a break, publish Topic.AUDIT_CHAIN_BROKEN for whoever must act (the
    same problems once a day, not on every run)."""
    now = now or timezone.now()
    report = audit_chain_check()
    with transaction.atomic():
        audit_chain_anchor(report=report, now=now)
        if report.problems:
            _alert_publish(report, now=now)
    return report


def _alert_publish(report: AuditReport, *, now: datetime) -> None:
    fingerprint = hashlib.sha256("\n".join(sorted(repr(problem) for problem in report.problems)).encode()).hexdigest()
    recent = OutboxEvent.objects.filter(topic=Topic.AUDIT_CHAIN_BROKEN, created_at__gte=now - ALERT_REPEAT_AFTER)
    if any(payload.get("fingerprint") == fingerprint for payload in recent.values_list("payload", flat=True)):
        return
    outbox_publish(
        topic=Topic.AUDIT_CHAIN_BROKEN,
        order=None,
        payload={
            "fingerprint": fingerprint,
            "checked_at": _canonical(now),
            "lines_checked": report.lines_checked,
            "problem_count": len(report.problems),
            "line_ids": report.broken_line_ids,
            "problems": [str(problem) for problem in report.problems[:ALERT_PROBLEMS_LISTED]],
        },
    )


def _digest_body(document: dict) -> bytes:
    unsigned = {name: value for name, value in document.items() if name != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()


def _digest_write(entries: dict[int, tuple[int, str]], *, now: datetime) -> Path:
    directory = Path(settings.AUDIT_ANCHOR_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    day = now.astimezone(UTC).date().isoformat()
    document = {
        "format": DIGEST_FORMAT,
        "day": day,
        "written_at": _canonical(now),
        "key_id": settings.AUDIT_CHAIN_KEY_ID,
        "lines": [[line_id, sequence, head] for line_id, (sequence, head) in sorted(entries.items())],
    }
    document["signature"] = _mac(document["key_id"], _digest_body(document))
    path = directory / f"{DIGEST_PREFIX}{day}.json"
    # Written whole or not at all: a verifier killed halfway leaves yesterday's file the newest.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".digest-")
    with os.fdopen(handle, "w") as out:
        json.dump(document, out, separators=(",", ":"))
    os.replace(temporary, path)
    return path


def _digest_files() -> Iterator[Path]:
    directory = Path(settings.AUDIT_ANCHOR_DIR)
    if directory.is_dir():
        yield from sorted(directory.glob(f"{DIGEST_PREFIX}*.json"), reverse=True)


def _digest_latest(report: AuditReport) -> Digest | None:
    """The newest digest file, when its signature holds; a forged or damaged one is a problem."""
    path = next(_digest_files(), None)
    if path is None:
        return None
    try:
        document = json.loads(path.read_text())
        signed = hmac.compare_digest(_mac(document["key_id"], _digest_body(document)), document["signature"])
        entries = {int(line_id): (int(sequence), str(head)) for line_id, sequence, head in document["lines"]}
        day = str(document["day"])
    except (OSError, ValueError, KeyError, TypeError, UnknownAuditKey):
        signed = False
    if not signed:
        report.problems.append(
            AuditProblem(
                None, 0, _("digest file %(name)s is not signed with a configured audit key") % {"name": path.name}
            )
        )
        return None
    return Digest(name=path.name, day=day, entries=entries)
