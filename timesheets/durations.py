"""Minutes as a person reads them ("1 h 30 min"), one spelling for pages, feed and CSV."""

from __future__ import annotations

from studio.models.song import Stage

STAGE_LABELS = dict(Stage.choices)


def minutes_label(minutes: int | None) -> str:
    if minutes is None:
        return "-"
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    if not hours:
        return f"{sign}{rest} min"
    return f"{sign}{hours} h" + (f" {rest} min" if rest else "")
