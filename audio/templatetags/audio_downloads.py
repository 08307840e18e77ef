"""Whether the page's member may save files (Download links), from the one rule in
audio.services.assets: a template shows the link only when the file endpoint would serve it."""

from __future__ import annotations

from typing import Any

from django import template

from audio.services.assets import may_download as _may_download

register = template.Library()


@register.simple_tag(takes_context=True)
def may_download(context: Any) -> bool:
    """`{% may_download as dl %}`: False for a viewer when the project's producers have turned
    viewers' downloads off (they still play everything)."""
    project = context.get("project")
    if project is None:
        return False
    return _may_download(project=project, role=context.get("role"))
