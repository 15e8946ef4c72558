"""Polling REST sources that cannot push: a stored cursor per source, backoff when it errors.

The source answers GET <poll_url>?cursor=<cursor> with
{"messages": [<message in the source's format, as a string or JSON object>], "next_cursor": "..."}.
"""

import json
from datetime import timedelta

import requests
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import SourceSystem, Transport
from integrations.services.inbox import inbound_message_receive

POLL_TIMEOUT_SECONDS = 10
MAX_BACKOFF = timedelta(hours=1)


class PollError(Exception):
    """The source could not be polled this time (temporary)."""


def sources_due_for_poll() -> list[int]:
    now = timezone.now()
    return list(
        SourceSystem.objects.filter(active=True, transport=Transport.POLL)
        .exclude(poll_url="")
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
        .values_list("pk", flat=True)
    )


def source_poll(*, source_id: int) -> int:
    """Fetch one page from the source and store its messages. Returns how many were new."""
    source = SourceSystem.objects.get(pk=source_id)
    try:
        page = _fetch(source)
    except PollError as error:
        source.poll_failures += 1
        source.last_poll_error = str(error)
        backoff = min(MAX_BACKOFF, source.poll_interval * 2**source.poll_failures)
        source.next_poll_at = timezone.now() + backoff
        source.skip_history_when_saving = True
        source.save(update_fields=["poll_failures", "last_poll_error", "next_poll_at"])
        return 0
    created = 0
    # Messages and the cursor move together: a crash re-reads the page, and the inbox drops duplicates.
    with transaction.atomic():
        for item in page["messages"]:
            raw = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), sort_keys=True)
            _message, is_new = inbound_message_receive(source=source, raw=raw, transport=Transport.POLL)
            created += is_new
        source.poll_cursor = page.get("next_cursor") or source.poll_cursor
        source.poll_failures = 0
        source.last_poll_error = ""
        # A full page means more is waiting: poll again at once.
        source.next_poll_at = timezone.now() + (timedelta(0) if page["messages"] else source.poll_interval)
        source.skip_history_when_saving = True
        source.save(update_fields=["poll_cursor", "poll_failures", "last_poll_error", "next_poll_at"])
    return created


def _fetch(source: SourceSystem) -> dict:
    headers = {"Authorization": f"Bearer {source.secret}"} if source.secret else {}
    try:
        response = requests.get(
            source.poll_url,
            params={"cursor": source.poll_cursor} if source.poll_cursor else {},
            headers=headers,
            timeout=POLL_TIMEOUT_SECONDS,
        )
    except requests.RequestException as error:
        raise PollError(f"{type(error).__name__}: {error}") from error
    if response.status_code != 200:
        raise PollError(f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        page = response.json()
    except ValueError as error:
        raise PollError("the answer is not JSON") from error
    if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
        raise PollError("the answer has no 'messages' list")
    return page
