"""Phone numbers in one form (E.164) wherever notifications compare them: a STOP from
+4915112345678 blocks the contact stored as "+49 151 12345678"."""

import re

SEPARATORS = re.compile(r"[\s().\-/\u00a0]")
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def phone_normalised(value: str) -> str:
    """ "+49 (151) 123-45678" and "0049 151 12345678" → "+4915112345678". A number without a
    country code cannot be made E.164 here and is returned without its separators."""
    number = SEPARATORS.sub("", value or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    return number
