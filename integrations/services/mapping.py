"""Turning a source's status codes into canonical statuses, with the rules in force at the time."""

from dataclasses import dataclass
from datetime import datetime

from integrations.models import MessageFormat, SourceSystem, StatusMapping
from orders.status import LineStatus


@dataclass(frozen=True)
class MappedStatus:
    status: str
    reason_code: str = ""
    mapping_id: int | None = None


def status_mapping_resolve(
    *, source: SourceSystem, code: str, qualifier: str, occurred_at: datetime
) -> MappedStatus | None:
    """The mapping for (code, qualifier) in force at `occurred_at`: an exact qualifier beats a
    blank one, a higher version beats a lower one. A fact older than every rule for its code maps
    with the first rule (it was written because of such facts). None when there is no rule."""
    candidates = list(StatusMapping.objects.filter(source=source, external_code=code, qualifier__in={qualifier, ""}))
    return status_mapping_choose(candidates, source=source, code=code, qualifier=qualifier, occurred_at=occurred_at)


def status_mapping_choose(
    candidates: list[StatusMapping], *, source: SourceSystem, code: str, qualifier: str, occurred_at: datetime
) -> MappedStatus | None:
    """status_mapping_resolve over rows already read (a batch reads each code's rows once)."""
    in_force = [mapping for mapping in candidates if _in_force(mapping, occurred_at)]
    if not in_force and all(mapping.valid_from > occurred_at for mapping in candidates):
        first_versions: dict[str, StatusMapping] = {}
        for mapping in sorted(candidates, key=lambda m: m.version, reverse=True):
            first_versions[mapping.qualifier] = mapping
        in_force = list(first_versions.values())
    best = max(in_force, key=lambda mapping: (mapping.qualifier == qualifier, mapping.version), default=None)
    if best is not None:
        return MappedStatus(status=best.status, reason_code=best.reason_code, mapping_id=best.pk)
    # Our own format may speak the canonical vocabulary directly.
    if source.message_format == MessageFormat.CANONICAL_JSON and code in LineStatus.values:
        return MappedStatus(status=code)
    return None


def _in_force(mapping: StatusMapping, moment: datetime) -> bool:
    return mapping.valid_from <= moment and (mapping.valid_until is None or mapping.valid_until > moment)
