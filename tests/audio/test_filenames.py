"""A4, hostile filenames through the upload door: whatever name a client sends, the file is
stored under a generated name only, the name is kept as metadata (control and bidi characters
dropped, at most 255 characters), shown escaped on the song page, and every download answers a
Content-Disposition that cannot be split, escape a folder, or save the file as another kind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.conf import settings
from django.utils.html import escape

from audio.api.files import download_name
from audio.models import Asset, Stem
from tests.audio.audiofiles import wav_bytes
from tests.audio.conftest import upload_bytes

pytestmark = [pytest.mark.django_db]

HOSTILE_NAMES = {
    "traversal": "../../etc/passwd.wav",
    "long": "a" * 4096 + ".wav",
    "rtl": "\u202egnp.wav",  # shows as "vaw.png"
    "double-extension": "x.wav.html",
    "quotes": "say \"hi\" 'there'.wav",
    "newlines": "evil\r\nSet-Cookie: a=b\r\n.wav",
    "script": "<script>alert(1)</script>.wav",
}
# What a generated storage name looks like: no part of any client's name.
STORAGE_NAME = re.compile(r"^[A-Za-z0-9/_-]+\.(wav|flac|mp3|aiff|ogg)$")


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.parametrize("case", sorted(HOSTILE_NAMES))
def test_a_hostile_filename_is_metadata_only(
    case: str, scenario: Any, song: Any, tmp_path: Path
) -> None:
    name = HOSTILE_NAMES[case]
    var = Path(settings.VAR_DIR).resolve()
    before = _files_under(var)
    client = scenario.client("engineer")
    response = upload_bytes(
        client,
        wav_bytes(seconds=0.2, seed=len(case)),
        filename=name,
        project=scenario.project.pk,
        song=song.pk,
        kind="stem",
        instrument="bass",
    )
    assert response.status_code == 204, response.content
    asset = Asset.objects.get()
    # stored under a generated name, inside the storage folder, and nowhere else
    assert STORAGE_NAME.match(asset.storage_name), asset.storage_name
    for word in ("passwd", "html", "script", "..", "gnp", "Cookie"):
        assert word not in asset.storage_name
    new = _files_under(var) - before
    assert all("passwd" not in str(p) and "<" not in str(p) for p in new), new
    assert not Path("/etc/passwd.wav").exists()
    # kept as metadata: printable, no bidi override, at most 255 characters
    kept = asset.original_name
    assert kept and len(kept) <= 255
    assert kept.isprintable() and "\u202e" not in kept
    assert Stem.objects.get().asset_id == asset.pk

    # the song page (with its Audio panel, which the page loads) and the upload's preview
    # show it escaped
    browser = scenario.browser("engineer")
    panel = ""
    for url in (f"/songs/{song.pk}/", f"/songs/{song.pk}/audio/", f"/assets/{asset.pk}/preview/"):
        page = browser.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "<script>alert(1)</script>" not in html, url
        panel += html
    assert escape(kept)[:40] in panel
    if case == "script":
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel

    # the download: one header line, a safe name of the file's own kind
    for disposition in ("attachment", "inline"):
        got = client.get(f"/api/assets/{asset.pk}/file/?disposition={disposition}")
        assert got.status_code == 200
        header = got["Content-Disposition"]
        assert "Set-Cookie" not in got and not re.search(r"[\x00-\x1f\x7f]", header)
        ascii_name, encoded = r'"([ -!#-\[\]-~]*)"', r"([!#$&+\-.^_`|~%\w]+)"
        match = re.fullmatch(
            rf"{disposition}; filename={ascii_name}; filename\*=UTF-8''{encoded}", header
        )
        assert match, header
        saved = unquote(match.group(2), errors="strict")
        assert saved == download_name(asset)
        for shown in (match.group(1), saved):
            assert "/" not in shown and "\\" not in shown and '"' not in shown
            assert "\u202e" not in shown and not shown.startswith(".")
            assert shown.lower().endswith(".wav"), shown  # never .html, whatever the name said
            assert len(shown) <= 255
        assert got["X-Content-Type-Options"] == "nosniff"
        assert got["Content-Type"] == "audio/wav"


def test_a_nul_in_the_filename_is_a_clear_400_and_stores_nothing(scenario: Any) -> None:
    """PostgreSQL text cannot hold a NUL: the upload is refused at creation, naming the field
    (it was a 500 from the database), before any byte or row."""
    from audio.models import Upload
    from tests.audio.conftest import tus_create

    response = tus_create(
        scenario.client("engineer"), 64, filename="bass\x00.wav", project=scenario.project.pk
    )
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"Upload-Metadata": ["NUL in filename"]}
    assert (Upload.objects.count(), Asset.objects.count()) == (0, 0)


def test_the_fixed_name_downloads_stay_fixed(scenario: Any) -> None:
    """The other download doors name their file themselves: the time sheets after the project's
    slug, so a project named with quotes, newlines and markup still gives a plain name."""
    from studio.services.projects import project_update

    project_update(
        actor=scenario.users["producer"],
        project=scenario.project,
        name='Ev"il\r\n<script>x</script> ../LP',
    )
    for path in ("time/entries.csv", "time/summary.csv"):
        got = scenario.browser("producer").get(f"/p/{scenario.project.pk}/{path}")
        assert got.status_code == 200, path
        header = got["Content-Disposition"]
        assert re.fullmatch(r'attachment; filename="[a-z0-9-]+\.csv"', header), header
