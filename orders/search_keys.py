"""How numbers are compared when people search for them: upper case, without dashes and spaces
("hv 2040" finds HV-2040). The same expression is indexed (part numbers, tracking numbers, line
references), so that a search by it is an index lookup, never a scan of the table."""

from django.db.models import F, Func, Value
from django.db.models.functions import Replace, Upper


def search_key(field: str) -> Func:
    """The column `field`, normalized for search."""
    return Upper(Replace(Replace(F(field), Value("-"), Value("")), Value(" "), Value("")))


def search_text(text: str) -> str:
    """A searched text, normalized the same way."""
    return "".join(text.split()).replace("-", "").upper()
