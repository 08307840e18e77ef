"""Numbers and dates from untrusted text (query strings, headers, upload metadata, forms)."""

from __future__ import annotations

import datetime
import math
import re
from decimal import Decimal

_DIGITS = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """A non-negative whole number of at most 18 ASCII digits, else None.

    Not `str.isdigit()`: it accepts '²' and other Unicode digits that `int()` then refuses (a 500
    waiting to happen) or reads in a script nobody typed. 18 digits keep ids inside a bigint.
    """
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    return int(raw)


def finite_number(raw: str) -> float | None:
    """A finite decimal number typed by a person ("120", "-1.5", "98,5"), else None.

    float() reads "nan", "inf" and "1e999" (infinite); each got past a range check (NaN compares
    false with everything) and then broke a Decimal quantize, a JSON payload or a database write.
    """
    text = raw.strip().replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


_NUMBER = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,9})?|\.[0-9]{1,9})")

# A decimal as people type it: digits, one point or comma, more digits. No exponent, no
# thousands separator, no "NaN" or "Infinity" (Decimal() reads all of those).
_DECIMAL = re.compile(r"([+-]?)([0-9]{0,15})(?:[.,]([0-9]{0,30}))?")


def decimal_text(raw: object) -> Decimal | None:
    """An exact decimal typed by a person: "50.5" and "50,5" are 50.5, "  25 " is 25; else None.

    The one reading of a typed share, on the page and in the service, so the two cannot disagree
    (the page once summed "50,5" as 50.5 while the server refused it). The digits after the mark
    are kept as typed ("1.234" is 1.234, which a caller allowing 2 places refuses, rather than
    guessing a thousands separator); a JSON number arrives as its str() ("33.333").
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        return None
    match = _DECIMAL.fullmatch(str(raw).strip())
    if match is None:
        return None
    sign, whole, fraction = match.groups()
    if not whole and not fraction:
        return None
    return Decimal(f"{sign}{whole or '0'}.{fraction or ''}".rstrip(".") or "0")


# Dates people plan with: year 1 or 9999 overflowed the time-zone conversion (a 500).
FIRST_YEAR, LAST_YEAR = 1900, 2199


def calendar_date(raw: str) -> datetime.date | None:
    """An ISO date ("2027-03-01") between FIRST_YEAR and LAST_YEAR, else None."""
    try:
        value = datetime.date.fromisoformat(raw.strip())
    except ValueError:
        return None
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None


def local_datetime(raw: str) -> datetime.datetime | None:
    """A datetime-local value ("2030-01-31T10:00") between FIRST_YEAR and LAST_YEAR, naive (the
    caller makes it aware in the viewer's zone), else None."""
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?", text):
        return None
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None
