"""Release identifiers: ISRC (ISO 3901) and UPC/EAN (GS1), normalised and checked.

An ISRC is written in many ways (``us-rc1-76-07839``, ``USRC 176 07839``); the engine stores one:
twelve characters, upper case, no separators. A UPC-A (12 digits) or EAN-13 (13 digits) carries
a GS1 mod-10 check digit in its last place; a CUE sheet's ``CATALOG`` and a DDP's UPC field take
13 digits, so a UPC-A is written there with a leading zero (the EAN-13 it is).
"""

from __future__ import annotations

import re

ISRC_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{2}[0-9]{5}$")
_SEPARATORS = re.compile(r"[\s\-_.]")


def isrc_normalise(text: str) -> str:
    """Spaces, hyphens (and dots, underscores) removed, upper case; not checked here."""
    return _SEPARATORS.sub("", text).upper()


def isrc_problem(text: str) -> str | None:
    """None for a valid ISRC (after normalising), else why not, as a sentence."""
    code = isrc_normalise(text)
    if len(code) != 12:
        return f"{text!r} is not an ISRC: {len(code)} characters, not 12 (CC-XXX-YY-NNNNN)"
    if not ISRC_PATTERN.match(code):
        return (
            f"{text!r} is not an ISRC: a country code of two letters, a registrant of three "
            "letters or digits, two digits of year and five of designation (CC-XXX-YY-NNNNN)"
        )
    return None


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (every digit but the check digit): from the
    right, weights 3, 1, 3, 1 ...; the digit brings the sum to a multiple of ten."""
    if not body.isdigit() or not body.isascii():
        raise ValueError(f"{body!r} is not a string of digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def upc_normalise(text: str) -> str:
    return _SEPARATORS.sub("", text)


def upc_problem(text: str) -> str | None:
    """None for a valid UPC-A or EAN-13 (after removing spaces and hyphens), else why not."""
    code = upc_normalise(text)
    if not code.isascii() or not code.isdigit() or len(code) not in (12, 13):
        return f"{text!r} is not a UPC/EAN: 12 or 13 digits are needed"
    want = gs1_check_digit(code[:-1])
    if int(code[-1]) != want:
        return f"{text!r} has a wrong GS1 check digit: {code[-1]}, where {want} is expected"
    return None


def catalog13(upc: str) -> str:
    """The 13-digit form a CUE ``CATALOG`` and a DDP carry: a UPC-A gets a leading zero."""
    code = upc_normalise(upc)
    return code if len(code) == 13 else "0" + code
