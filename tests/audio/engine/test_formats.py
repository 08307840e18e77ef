"""The format registry is the one list: what the probe reports, the sniffer's refusal and the
CLI's help all come from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio.engine import errors
from audio.engine.cli import build_parser
from audio.engine.formats import FORMATS, NAMES, accept_attribute, format_named, labels_sentence
from audio.engine.io import probe
from tests.audio.engine.files import make_seeds

pytestmark = pytest.mark.engine


def test_every_format_the_probe_reports_is_registered(tmp_path: Path) -> None:
    """One seed file per format: each probes to a registered name, and every registered
    format is covered by a seed (a new reader needs a registry entry, and the reverse)."""
    reported = {probe(path).format for path in make_seeds(tmp_path).values()}
    assert reported == set(NAMES)
    for name in reported:
        found = format_named(name)
        assert found is not None and found.extension.startswith(".")
        assert found.media_type.startswith("audio/")


def test_refusal_and_help_name_the_registered_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00" * 100)
    with pytest.raises(errors.UnsupportedFormat) as caught:
        probe(path)
    assert str(caught.value) == f"not a {labels_sentence()} file"
    assert labels_sentence() == "WAV, AIFF, FLAC, MP3 or Ogg Vorbis"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["analyze", "--help"])
    assert labels_sentence("and") in " ".join(capsys.readouterr().out.split())


def test_accept_attribute_lists_every_extension_and_media_type() -> None:
    accept = accept_attribute().split(",")
    for f in FORMATS:
        assert set(f.extensions) <= set(accept)
        assert f.media_type in accept
    assert len(accept) == len(set(accept))
    assert "text/html" not in accept and "audio/*" not in accept
