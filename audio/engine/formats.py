"""The formats the engine reads, written once: every other list (the upload form's ``accept``,
the served Content-Type, the stored extension, the API's format filter) is derived from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """One readable container. ``name`` is what ``probe`` reports as ``AudioInfo.format``."""

    name: str
    label: str
    media_type: str
    extensions: tuple[str, ...]  # the first is the one stored files get
    also_sent_as: tuple[str, ...] = ()  # other media types browsers send for it

    @property
    def extension(self) -> str:
        return self.extensions[0]


FORMATS: tuple[Format, ...] = (
    Format("wav", "WAV", "audio/wav", (".wav", ".wave", ".bwf"), ("audio/x-wav", "audio/wave")),
    Format("aiff", "AIFF", "audio/aiff", (".aiff", ".aif", ".aifc"), ("audio/x-aiff",)),
    Format("flac", "FLAC", "audio/flac", (".flac",), ("audio/x-flac",)),
    Format("mp3", "MP3", "audio/mpeg", (".mp3",), ("audio/mp3",)),
    Format("ogg", "Ogg Vorbis", "audio/ogg", (".ogg", ".oga"), ("application/ogg",)),
)

_BY_NAME = {f.name: f for f in FORMATS}

NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)


def format_named(name: str) -> Format | None:
    return _BY_NAME.get(name)


def labels_sentence(last: str = "or") -> str:
    """'WAV, AIFF, FLAC, MP3 or Ogg Vorbis': for messages and help text."""
    labels = [f.label for f in FORMATS]
    return f"{', '.join(labels[:-1])} {last} {labels[-1]}"


def accept_attribute() -> str:
    """The value of an ``<input type=file accept=...>``: every extension and media type."""
    items: list[str] = []
    for f in FORMATS:
        items.extend(f.extensions)
        items.extend((f.media_type, *f.also_sent_as))
    return ",".join(items)
