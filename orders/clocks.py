"""Source clocks: how far each source's clock may be off (its tolerance), as the decision needs it.

`orders` does not know the source systems; integrations registers a lookup in its
AppConfig.ready(). Without one every tolerance is zero.
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

ToleranceLookup = Callable[[set[str]], dict[str, timedelta]]

_lookup: ToleranceLookup | None = None


def clock_tolerance_lookup_register(lookup: ToleranceLookup) -> None:
    global _lookup
    _lookup = lookup


def clock_tolerances(source_codes: Iterable[str]) -> dict[str, timedelta]:
    codes = {code for code in source_codes if code}
    if _lookup is None or not codes:
        return {}
    return _lookup(codes)
