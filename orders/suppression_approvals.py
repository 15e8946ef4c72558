"""Which event suppressions have their approved request, as the audit verifier needs it.

`orders` does not know override requests; overrides registers a lookup in its
AppConfig.ready(). Without one no suppression counts as approved (the verifier reports them all).
"""

from collections.abc import Callable, Iterable

from orders.models import EventSuppression

# Given suppressions, the ids of those an approved (applied) request stands behind.
ApprovalLookup = Callable[[list[EventSuppression]], set[int]]

_lookup: ApprovalLookup | None = None


def suppression_approval_lookup_register(lookup: ApprovalLookup | None) -> None:
    global _lookup
    _lookup = lookup


def suppressions_approved(suppressions: Iterable[EventSuppression]) -> set[int]:
    suppressions = list(suppressions)
    if _lookup is None or not suppressions:
        return set()
    return _lookup(suppressions)
