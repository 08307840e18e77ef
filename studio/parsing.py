"""Numbers from untrusted text (query strings, headers, upload metadata)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,18}")


def whole_number(raw: str | None) -> int | None:
    """A non-negative whole number of at most 18 ASCII digits, else None.

    Not `str.isdigit()`: it accepts '²' and other Unicode digits that `int()` then refuses (a 500
    waiting to happen) or reads in a script nobody typed. 18 digits keep ids inside a bigint.
    """
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    return int(raw)
