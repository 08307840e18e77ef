"""Coverage-guided fuzzing of the header validator (A3): atheris feeds bytes to the parser the
probe runs before any decoder (`_sniff`), seeded with the corpus of valid headers below. The
contract is the probe's: a header, an AudioError, or one of the decoder-style errors the probe
turns into `Corrupt`; anything else is a crash and atheris stops with the input.

Run by `test_fuzz_headers.py::test_atheris_finds_no_crasher_in_bounded_time` (make reliability):
`python -m tests.audio.engine.fuzz_headers_atheris -max_total_time=60 CORPUS_DIR`."""

from __future__ import annotations

import contextlib
import io
import sys

import atheris

with atheris.instrument_imports():
    from audio.engine.errors import AudioError
    from audio.engine.io import _DECODER_ERRORS, DEFAULT_LIMITS, _Reader, _sniff

MAPPED = (AudioError, *_DECODER_ERRORS, IndexError, KeyError)


def one_input(data: bytes) -> None:
    with contextlib.suppress(*MAPPED):
        _sniff(_Reader(io.BytesIO(data), len(data)), DEFAULT_LIMITS)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
