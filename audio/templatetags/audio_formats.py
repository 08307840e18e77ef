"""The engine's format registry for templates: the upload form's ``accept`` and its label are
rendered from it, so the page accepts exactly what the engine reads."""

from __future__ import annotations

from django import template

from audio.engine.formats import FORMATS, accept_attribute

register = template.Library()


@register.simple_tag
def upload_accept() -> str:
    """For ``<input type="file" accept="...">``: every extension and media type."""
    return accept_attribute()


@register.simple_tag
def upload_format_labels() -> str:
    """'WAV, AIFF, FLAC, MP3, Ogg Vorbis': the formats as people name them."""
    return ", ".join(f.label for f in FORMATS)
