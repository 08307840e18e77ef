"""Downloads (issue 13): every file a member may read downloads under the name it was uploaded
with (RFC 6266: `filename*=UTF-8''...` and an ASCII `filename=`), hostile names sanitised; a
Download link beside every mix, master, stem, take and reference the pages list; and the
producers' setting that forbids viewers to download (403 with a sentence) while they still play
everything (the inline stream the players use)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from audio.api.files import NAME_MAX, content_disposition, download_name
from audio.models import Asset, Master, Mix, Stem, Take
from audio.services.assets import (
    VIEWERS_MAY_NOT_DOWNLOAD,
    asset_ingest_file,
    project_set_viewers_may_download,
    stem_attach,
    take_attach,
)
from audio.services.masters import reference_add
from audio.services.mixes import mix_create
from eventlog.models import Event
from studio.errors import Forbidden
from tests.audio.audiofiles import write_wav

pytestmark = pytest.mark.django_db

ROLES = ("producer", "engineer", "artist", "viewer")


def _asset(scenario: Any, tmp_path: Path, name: str, seed: int) -> Asset:
    path = write_wav(tmp_path / f"file-{seed}.wav", seconds=0.3, seed=seed)
    return asset_ingest_file(
        actor=scenario.users["engineer"], project=scenario.project, path=path, original_name=name
    )


def _parts(header: str) -> tuple[str, str, str]:
    """(disposition, ASCII filename, decoded filename*) of a Content-Disposition."""
    match = re.fullmatch(
        r'(attachment|inline); filename="([^"\\]*)"; filename\*=UTF-8\'\'(\S+)', header
    )
    assert match, header
    encoded = match.group(3)
    assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]+", encoded), encoded  # RFC 8187 attr-chars
    return match.group(1), match.group(2), unquote(encoded, errors="strict")


# --- the name -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uploaded", "saved", "ascii_name"),
    [
        ("Bass DI.wav", "Bass DI.wav", "Bass DI.wav"),
        (
            "Lead vocal – take 3 (ü).wav",
            "Lead vocal – take 3 (ü).wav",
            "Lead vocal _ take 3 (u).wav",
        ),
        ("日本語のミックス.wav", "日本語のミックス.wav", None),  # nothing ASCII left: asset-N.wav
        ('say "hi".wav', "say _hi_.wav", "say _hi_.wav"),
        ("../../etc/passwd.wav", "passwd.wav", "passwd.wav"),
        ("C:\\Users\\mia\\mix.wav", "mix.wav", "mix.wav"),
        ("a\r\nContent-Type: text/html\r\n\r\n<b>.wav", "html _b_.wav", None),
        ("nul\x00byte\x07.wav", "nul byte.wav", None),
        ("\u202egnp.wav", "gnp.wav", "gnp.wav"),  # a bidi override would show "vaw.png"
        (".hidden.wav", "hidden.wav", "hidden.wav"),
        ("CON.wav", "CON_.wav", "CON_.wav"),
        ("percent %41 and ;,.wav", "percent %41 and ;,.wav", "percent _41 and ;,.wav"),
        ("no extension", "no extension.wav", "no extension.wav"),
        ("", None, None),
        ("...", None, None),
    ],
)
def test_download_name_is_the_uploaded_name_sanitised(
    scenario: Any, tmp_path: Path, uploaded: str, saved: str | None, ascii_name: str | None
) -> None:
    """The saved name is the uploaded one without paths, control or format characters, or the
    characters file systems refuse; `filename*` carries it exactly (percent-encoded UTF-8) and
    `filename` an ASCII fallback; a name with nothing left is `asset-<id>.wav`."""
    asset = _asset(scenario, tmp_path, "x.wav", seed=1)
    asset.original_name = uploaded  # as it was stored (the upload keeps printable characters)
    fallback = f"asset-{asset.pk}.wav"
    saved = saved or fallback
    assert download_name(asset) == saved
    disposition, ascii_part, utf8_part = _parts(content_disposition(asset, inline=False))
    assert disposition == "attachment"
    assert utf8_part == saved
    assert ascii_part == (
        ascii_name or (fallback if not saved.isascii() or saved == fallback else saved)
    )
    for name in (ascii_part, utf8_part):
        assert "/" not in name and "\\" not in name and '"' not in name
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in name)


def test_a_very_long_name_is_cut_keeping_its_extension(scenario: Any, tmp_path: Path) -> None:
    asset = _asset(scenario, tmp_path, "x.wav", seed=2)
    asset.original_name = "ü" * 250 + ".wave"  # an extension of the stored format
    name = download_name(asset)
    assert len(name) <= NAME_MAX and name.endswith(".wave") and name.startswith("ü")
    header = content_disposition(asset, inline=True)
    assert header.startswith("inline; ") and len(header) < 2000


def test_every_file_downloads_under_its_uploaded_name(scenario: Any, tmp_path: Path) -> None:
    """Through the endpoint: the header, the bytes, and Range still work on a download."""
    asset = _asset(scenario, tmp_path, "Mia's bass – DI.wav", seed=3)
    client = scenario.client("engineer")
    response = client.get(f"/api/assets/{asset.pk}/file/")
    assert response.status_code == 200
    disposition, ascii_part, utf8_part = _parts(response["Content-Disposition"])
    assert (disposition, ascii_part, utf8_part) == (
        "attachment",
        "Mia's bass _ DI.wav",
        "Mia's bass – DI.wav",
    )
    ranged = client.get(f"/api/assets/{asset.pk}/file/", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and _parts(ranged["Content-Disposition"])[2] == utf8_part
    inline = client.get(f"/api/assets/{asset.pk}/file/?disposition=inline")
    assert _parts(inline["Content-Disposition"])[:1] == ("inline",)


def test_a_hostile_name_through_a_real_upload_never_breaks_the_header(
    scenario: Any, tmp_path: Path
) -> None:
    """A CR/LF in the uploaded name cannot split the response (no header injection)."""
    asset = _asset(scenario, tmp_path, "evil\r\nSet-Cookie: a=b\r\n.wav", seed=4)
    response = scenario.client("viewer").get(f"/api/assets/{asset.pk}/file/")
    assert response.status_code == 200
    assert "Set-Cookie" not in response
    assert (
        "\r" not in response["Content-Disposition"] and "\n" not in response["Content-Disposition"]
    )


def test_a_bad_disposition_is_a_400_naming_the_field(scenario: Any, tmp_path: Path) -> None:
    asset = _asset(scenario, tmp_path, "a.wav", seed=5)
    response = scenario.client("engineer").get(f"/api/assets/{asset.pk}/file/?disposition=evil")
    assert response.status_code == 400
    assert response.json()["fields"] == {"disposition": ["attachment or inline"]}


# --- the viewers' setting ---------------------------------------------------------------------


def test_viewers_download_until_a_producer_turns_it_off_and_always_play(
    scenario: Any, tmp_path: Path
) -> None:
    asset = _asset(scenario, tmp_path, "take.wav", seed=6)
    url = f"/api/assets/{asset.pk}/file/"
    assert scenario.project.viewers_may_download is True
    assert scenario.client("viewer").get(url).status_code == 200

    project_set_viewers_may_download(
        actor=scenario.users["producer"], project=scenario.project, allowed=False
    )
    refused = scenario.client("viewer").get(url)
    assert refused.status_code == 403
    assert refused.json() == {
        "code": "download_off",
        "detail": VIEWERS_MAY_NOT_DOWNLOAD,
        "fields": {},
    }
    explicit = scenario.client("viewer").get(url + "?disposition=attachment")
    assert explicit.status_code == 403
    # playing stays open: the players stream inline, with Range
    played = scenario.client("viewer").get(url + "?disposition=inline", HTTP_RANGE="bytes=0-99")
    assert played.status_code == 206 and played["Content-Disposition"].startswith("inline;")
    for role in ("producer", "engineer", "artist"):
        assert scenario.client(role).get(url).status_code == 200, role
    assert scenario.client("outsider").get(url).status_code == 404

    project_set_viewers_may_download(
        actor=scenario.users["producer"], project=scenario.project, allowed=True
    )
    assert scenario.client("viewer").get(url).status_code == 200


def test_only_producers_set_it_and_each_change_is_an_event(scenario: Any) -> None:
    for role in ("engineer", "artist", "viewer"):
        with pytest.raises(Forbidden):
            project_set_viewers_may_download(
                actor=scenario.users[role], project=scenario.project, allowed=False
            )
    before = Event.objects.filter(project=scenario.project).count()
    project_set_viewers_may_download(
        actor=scenario.users["producer"], project=scenario.project, allowed=False
    )
    project_set_viewers_may_download(  # the same value again: nothing changes, nothing told
        actor=scenario.users["producer"], project=scenario.project, allowed=False
    )
    events = list(Event.objects.filter(project=scenario.project).order_by("seq"))[before:]
    assert [e.type for e in events] == ["project.updated"]
    scenario.project.refresh_from_db()
    assert scenario.project.viewers_may_download is False


def test_the_members_page_sets_it_with_a_small_form(scenario: Any) -> None:
    page = scenario.browser("producer")
    html = page.get(f"/p/{scenario.project.pk}/members/").content.decode()
    assert 'id="download-setting"' in html and 'id="viewers-download-off"' in html
    response = page.post(
        f"/p/{scenario.project.pk}/downloads/",
        {"viewers_may_download": "off"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'data-viewers-may-download="false"' in response.content.decode()
    scenario.project.refresh_from_db()
    assert scenario.project.viewers_may_download is False
    bad = page.post(f"/p/{scenario.project.pk}/downloads/", {"viewers_may_download": "maybe"})
    assert bad.status_code == 400
    assert "Viewers&#x27; downloads: choose whether viewers may" in bad.content.decode()
    # not a producer: the card is not offered, and the route refuses
    for role in ("engineer", "viewer"):
        member = scenario.browser(role)
        members_html = member.get(f"/p/{scenario.project.pk}/members/").content.decode()
        assert 'id="download-setting"' not in members_html, role
        refused = member.post(
            f"/p/{scenario.project.pk}/downloads/", {"viewers_may_download": "on"}
        )
        assert refused.status_code == 403, role
    scenario.project.refresh_from_db()
    assert scenario.project.viewers_may_download is False


# --- the links on the pages -------------------------------------------------------------------


def _links(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/api/assets/(\d+)/file/" download', html)}


def test_download_links_beside_every_file_the_pages_list(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    """Song page audio section (mix, stem, take), player (the version and the others), Master
    tab (master, reference): a Download link for each, for every role while viewers may; none
    for a viewer once a producer turns it off (the player's inline stream stays)."""
    engineer = scenario.users["engineer"]
    mix_asset = _asset(scenario, tmp_path, "mix one.wav", seed=7)
    stem_asset = _asset(scenario, tmp_path, "bass.wav", seed=8)
    take_asset = _asset(scenario, tmp_path, "vox take.wav", seed=9)
    ref_asset = _asset(scenario, tmp_path, "ref.wav", seed=10)
    master_asset = _asset(scenario, tmp_path, "master.wav", seed=11)
    mix = mix_create(actor=engineer, song=song, asset=mix_asset)
    stem_attach(actor=engineer, song=song, asset=stem_asset, instrument="Bass")
    take_attach(actor=engineer, song=song, asset=take_asset, part="Lead vocal")
    reference_add(actor=engineer, song=song, asset=ref_asset, title="Hit")
    master = Master.objects.create(
        project=scenario.project, song=song, mix=mix, number=1, asset=master_asset
    )
    pages = {
        f"/songs/{song.pk}/audio/": {mix_asset.pk, stem_asset.pk, take_asset.pk},
        f"/mixes/{mix.pk}/": {mix_asset.pk, master_asset.pk},
        f"/masters/{master.pk}/": {master_asset.pk, mix_asset.pk},
        f"/songs/{song.pk}/master/": {master_asset.pk, ref_asset.pk},
    }
    for role in ROLES:
        client = scenario.browser(role)
        for url, expected in pages.items():
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert expected <= _links(response.content.decode()), (role, url)
    project_set_viewers_may_download(
        actor=scenario.users["producer"], project=scenario.project, allowed=False
    )
    viewer = scenario.browser("viewer")
    for url in pages:
        html = viewer.get(url).content.decode()
        assert _links(html) == set(), url
    player = viewer.get(f"/mixes/{mix.pk}/").content.decode()
    assert f'src="/api/assets/{mix_asset.pk}/file/?disposition=inline"' in player
    assert 'controlslist="nodownload"' in player  # nor the native controls' own menu
    assert "nodownload" not in scenario.browser("artist").get(f"/mixes/{mix.pk}/").content.decode()
    assert _links(scenario.browser("artist").get(f"/songs/{song.pk}/audio/").content.decode())
    # open pages hear the setting change (project.updated) and refetch their lists
    song_page = viewer.get(f"/songs/{song.pk}/").content.decode()
    trigger = re.search(r'id="song-audio"[^>]*hx-trigger="([^"]+)"', song_page)
    assert trigger and "studio:project-updated from:body" in trigger.group(1)
    master_tab = viewer.get(f"/songs/{song.pk}/master/").content.decode()
    assert master_tab.count("studio:project-updated from:body") >= 2  # masters, references


def test_stems_and_takes_get_a_compact_player_row(scenario: Any, song: Any, tmp_path: Path) -> None:
    """Each stem and take has its row (play button, position bar, time) streaming inline, and
    the list has the Solo switch; every member gets them, viewers too."""
    engineer = scenario.users["engineer"]
    stem = stem_attach(
        actor=engineer,
        song=song,
        asset=_asset(scenario, tmp_path, "b.wav", seed=12),
        instrument="Bass",
    )
    take = take_attach(
        actor=engineer, song=song, asset=_asset(scenario, tmp_path, "v.wav", seed=13), part="Vox"
    )
    html = scenario.browser("viewer").get(f"/songs/{song.pk}/audio/").content.decode()
    for key, obj, label in (
        (f"stem:{stem.pk}", stem, "Bass"),
        (f"take:{take.pk}", take, "Vox · take 1"),
    ):
        row = re.search(
            rf'<div class="compact-player[^"]*"[^>]*data-compact="{key}"(.*?)</div>', html, re.S
        )
        assert row, key
        body = row.group(1)
        assert f'data-src="/api/assets/{obj.asset_id}/file/?disposition=inline"' in body
        assert f'aria-label="Play {label}"' in body and "data-compact-seek" in body
    assert "data-compact-solo" in html
    song_page = scenario.browser("viewer").get(f"/songs/{song.pk}/").content.decode()
    assert re.search(
        r'<script type="module" src="/static/js/stems\.js" nonce="[^"]+"></script>', song_page
    )
    assert Stem.objects.count() == 1 and Take.objects.count() == 1 and Mix.objects.count() == 0
