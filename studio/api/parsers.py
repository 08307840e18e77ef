"""The API's JSON parser: DRF's, plus the limits a hostile body must not get past.

Python's decoder recurses once per nesting level, so a body nested a few thousand deep raised
RecursionError (a 500, even anonymously); a lone surrogate (`"\\ud800"`) parsed fine and then
broke the UTF-8 encoding of the error that echoed it back (another 500). Both are a parse error
here, before any view sees the data.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32  # the deepest legitimate body (a mix spec) nests 6 levels


def check_json_value(value: Any, depth: int = 0) -> None:
    """Raise ParseError for nesting deeper than MAX_DEPTH or text that is not valid Unicode."""
    if depth > MAX_DEPTH:
        raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            check_json_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json_value(item, depth + 1)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ParseError("JSON text holds a NUL character, which no text field accepts")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON text holds a lone surrogate (not valid Unicode)") from None


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested more than {MAX_DEPTH} levels deep") from None
        check_json_value(data)
        return data
