"""`{% over_budget_card project %}`: the songs running over budget, at the top of the project
dashboard, rendered from the time room's own fragment (templates/timesheets/_over_budget.html)."""

from __future__ import annotations

from typing import Any

from django import template

from pages.time import over_budget_context
from timesheets.durations import minutes_label

register = template.Library()


@register.inclusion_tag("timesheets/_over_budget.html", takes_context=True)
def over_budget_card(context: Any, project: Any) -> dict[str, Any]:
    return over_budget_context(context["request"].user, project)


@register.filter
def minutes(value: int | None) -> str:
    """90 -> '1 h 30 min'."""
    return minutes_label(value)
