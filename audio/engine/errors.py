"""Every failure the engine reports about audio is an AudioError with a stable code.

Callers (upload checks, jobs, the CLI) show ``str(error)`` to people and switch on ``code``;
nothing else should escape the engine for bad input.
"""

from __future__ import annotations


class AudioError(Exception):
    """Base class: ``code`` is stable (part of the API), ``str(e)`` is the human sentence."""

    code: str = "audio.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class FileMissing(AudioError):
    code = "audio.file_missing"


class Unreadable(AudioError):
    code = "audio.unreadable"


class UnsupportedFormat(AudioError):
    code = "audio.unsupported_format"


class Corrupt(AudioError):
    code = "audio.corrupt"


class TooLong(AudioError):
    code = "audio.too_long"


class TooLarge(AudioError):
    code = "audio.too_large"


class ChannelLimit(AudioError):
    code = "audio.channel_limit"


class SampleRateLimit(AudioError):
    code = "audio.sample_rate_limit"


class EmptyAudio(AudioError):
    code = "audio.empty"


class DecoderCrashed(AudioError):
    code = "audio.decoder_crashed"


class Overcompressed(AudioError):
    """The file decodes to far more samples than its size can carry as real audio (a bomb)."""

    code = "audio.overcompressed"
