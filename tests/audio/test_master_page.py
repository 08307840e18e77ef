"""The Master tab and the master player, through the Django client: what each role gets (the
form and the verdict buttons only for those who may use them), a real master's report drawn
as figures, spectra, EQ and tables, "master again" prefilled with the last settings, the player
offering mixes, masters and reference tracks as B with their loudness, and verdicts on a master
through the page. The browser side is tests/e2e/test_mastering.py."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audio.demo import RATE, mixdown, synth_stems
from audio.engine.io import write_wav
from audio.jobs import runner
from audio.models import Asset, Job, JobKind, JobState, Master, Mix, ReferenceTrack
from audio.services.assets import asset_ingest_file
from audio.services.masters import reference_add
from audio.services.mixes import mix_create
from pages.masters import (
    eq_chart,
    figures_table,
    gain_reduction_chart,
    lossy_table,
    platforms_table,
    spectra_chart,
    stage_values,
)

pytestmark = pytest.mark.timeout(300)


def _asset(scenario: Any, name: str, *, seconds: float = 6.0, bpm: float = 104.0, gain_db=0.0):
    samples = mixdown(synth_stems(bpm=bpm, seconds=seconds), {}) * 10 ** (gain_db / 20)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.wav"
        write_wav(path, samples, RATE, bit_depth=24)
        return asset_ingest_file(
            actor=scenario.users["engineer"],
            project=scenario.project,
            path=path,
            original_name=f"{name}.wav",
        )


def _analyse() -> None:
    for job in Job.objects.filter(kind=JobKind.ANALYZE, state=JobState.QUEUED):
        assert runner.run_job(job.pk) == "done"


def _setup(scenario: Any, song: Any) -> tuple[Mix, ReferenceTrack]:
    mix = mix_create(actor=scenario.users["engineer"], song=song, asset=_asset(scenario, "mix"))
    ref_asset = _asset(scenario, "Hit single", bpm=120.0, gain_db=0.9)
    ref = reference_add(actor=scenario.users["engineer"], song=song, asset=ref_asset, title="Hit")
    _analyse()
    return mix, ref


def _master(scenario: Any, body: dict[str, Any]) -> Master:
    response = scenario.client("engineer").post("/api/masters/", body, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    assert runner.run_job(job_id) == "done", Job.objects.get(pk=job_id).error
    _analyse()
    return Master.objects.get(job_id=job_id)


def _get(scenario: Any, who: str, url: str) -> tuple[int, str]:
    client = Client()
    client.force_login(scenario.users[who])
    response = client.get(url)
    return response.status_code, response.content.decode()


def _row(html: str, attr: str) -> str:
    found = re.search(rf"<tr {attr}>(.*?)</tr>", html, re.S)
    assert found, attr
    return found.group(1)


@pytest.mark.django_db
def test_the_master_tab_draws_a_real_masters_report_and_gives_each_role_its_controls(
    scenario: Any, song: Any
) -> None:
    mix, ref = _setup(scenario, song)
    status, html = _get(scenario, "engineer", f"/songs/{song.pk}/master/")
    assert status == 200
    assert "No master yet" in html and 'id="master-form"' in html
    assert f'<option value="{mix.pk}" selected>Mix 1</option>' in html
    assert 'value="spotify" ' in html and re.search(r'value="spotify"[^>]*selected', html)
    # The reference sits beside the mix with its figures.
    refs = re.search(r'<section class="card" id="references".*?</section>', html, re.S)
    assert refs and "Hit" in refs.group(0) and "LUFS" in refs.group(0)

    master = _master(
        scenario,
        {"mix": mix.pk, "preset": "spotify", "references": [ref.pk], "intensity": 80},
    )
    status, html = _get(scenario, "engineer", f"/songs/{song.pk}/master/")
    assert status == 200
    report = master.report
    assert f'data-master="{master.pk}" data-ready="true"' in html
    # Before/after: the engine's figures, rounded to one decimal.
    integrated = _row(html, 'data-figure="integrated"')
    assert f"{report['input']['integrated_lufs']:.1f} LUFS" in integrated
    assert f"{report['output']['integrated_lufs']:.1f} LUFS" in integrated
    tp = _row(html, 'data-figure="true-peak"')
    assert f"{report['output']['true_peak_accurate_dbtp']:.1f} dBTP" in tp
    # Spectra of mix, master and reference together, each an accessible line.
    svg = re.search(r'<svg class="chart" id="spectra-chart".*?</svg>', html, re.S)
    assert svg and 'role="img"' in svg.group(0)
    assert re.findall(r'data-series="(\w+)"', svg.group(0)) == ["mix", "master", "reference"]
    assert "<title" in svg.group(0) and "<desc" in svg.group(0)
    assert 'id="eq-chart"' in html  # the reference match applied an EQ
    # Platforms: Spotify's playback gain is what the engine said.
    spotify = _row(html, 'data-platform="spotify"')
    gain = report["platforms"]["spotify"]["playback_gain_db"]
    assert f"{'+' if gain > 0 else ''}{gain:.1f} dB" in spotify
    lossy = _row(html, 'data-codec="mp3_320"')
    assert "dBTP" in lossy and "No clipping" in lossy  # -1 dBTP survives LAME 320
    # Master again: the form starts from the last master's settings.
    assert "Master again" in html
    assert re.search(rf'name="references" value="{ref.pk}" checked', html)
    assert re.search(r'id="mf-intensity"[^>]*value="80"', html)
    # Review: an engineer may approve a master; viewers see it but get no buttons.
    assert 'id="master-approve"' in html

    # Each live part on its own, as htmx refetches it when its event arrives.
    client = Client()
    client.force_login(scenario.users["viewer"])
    for part, marker in (
        ("masters", 'id="master-list"'),
        ("references", f'id="reference-{ref.pk}"'),
        ("detail", 'id="spectra-chart"'),
    ):
        response = client.get(
            f"/songs/{song.pk}/master/?part={part}&m={master.pk}", HTTP_HX_REQUEST="true"
        )
        fragment = response.content.decode()
        assert response.status_code == 200 and marker in fragment, part
        assert "<html" not in fragment, part

    status, html = _get(scenario, "viewer", f"/songs/{song.pk}/master/")
    assert status == 200 and 'id="spectra-chart"' in html
    assert 'id="master-form"' not in html and 'id="master-approve"' not in html
    assert "data-remove-reference" not in html and 'id="upload-panel"' not in html
    status, html = _get(scenario, "artist", f"/songs/{song.pk}/master/")
    assert 'id="master-form"' not in html and 'id="master-approve"' in html
    assert _get(scenario, "outsider", f"/songs/{song.pk}/master/")[0] == 404


@pytest.mark.django_db
def test_master_again_is_prefilled_with_the_last_settings(scenario: Any, song: Any) -> None:
    mix, _ref = _setup(scenario, song)
    _master(
        scenario,
        {
            "mix": mix.pk,
            "target_lufs": -12.5,
            "ceiling_dbtp": -2.0,
            "stages": {
                "eq": [
                    {"kind": "lowshelf", "freq": 100, "gain_db": 1.5, "q": 0.707},
                    {"kind": "peak", "freq": 3000, "gain_db": -1.0, "q": 1.0},
                ],
                "compressor": {"threshold_db": -20, "ratio": 3},
                "saturation": None,
                "width": 120,
            },
            "bit_depth": "16",
        },
    )
    status, html = _get(scenario, "engineer", f"/songs/{song.pk}/master/")
    assert status == 200
    assert re.search(r'<option value="" selected>Custom target', html)
    assert re.search(r'id="mf-target"[^>]*value="-12.5"', html)
    assert re.search(r'id="mf-ceiling"[^>]*value="-2.0"', html)
    assert re.search(r'id="mf-eq" checked', html) and re.search(
        r'id="mf-low"[^>]*value="1.5"', html
    )
    assert re.search(r'id="mf-comp" checked', html)
    assert re.search(r'id="mf-threshold"[^>]*value="-20.0"', html)
    assert re.search(r'id="mf-ratio"[^>]*value="3.0"', html)
    assert 'id="mf-sat" checked' not in html
    assert re.search(r'id="mf-width-on" checked', html)
    assert '<option value="16" selected>' in html
    # The peak band the form does not edit is sent back as it was.
    other = re.search(r'<script id="mf-eq-other" type="application/json">(.*?)</script>', html)
    assert other and '"peak"' in other.group(1) and "3000" in other.group(1)
    # The summary of the chain in words.
    assert "EQ (2 bands)" in html and "Compression 3:1 from -20 dB" in html


@pytest.mark.django_db
def test_the_player_offers_mixes_masters_and_references_as_b_with_their_loudness(
    scenario: Any, song: Any
) -> None:
    mix, ref = _setup(scenario, song)
    master = _master(scenario, {"mix": mix.pk, "preset": "spotify", "references": [ref.pk]})
    status, html = _get(scenario, "artist", f"/masters/{master.pk}/")
    assert status == 200
    assert f'data-asset="{master.asset_id}" data-peaks-url' in html
    assert "A · Master 1" in html
    options = re.findall(r'<option value="((?:mix|master|ref):\d+)"', html)
    assert options == [f"mix:{mix.pk}", f"ref:{ref.pk}"]
    assert 'id="loudness-match" checked' in html  # matched by default
    assert 'data-listen="phone"' in html and 'data-listen="car"' in html
    assert 'id="master-approve"' in html and 'id="comment-here"' not in html

    status, html = _get(scenario, "viewer", f"/masters/{master.pk}/?b=ref:{ref.pk}")
    audio_b = re.search(r'<audio id="audio-b"[^>]*>', html, re.S)
    assert audio_b, html
    ref_asset = Asset.objects.get(pk=ref.asset_id)
    assert f'data-asset="{ref.asset_id}"' in audio_b.group(0)
    lufs = ref_asset.analysis["integrated_lufs"]
    found = re.search(r'data-lufs="([-\d.]+)"', audio_b.group(0))
    assert found and abs(float(found.group(1)) - lufs) < 1e-6
    assert 'id="master-approve"' not in html

    # The mix player puts the master on B too.
    status, html = _get(scenario, "engineer", f"/mixes/{mix.pk}/?b=master:{master.pk}")
    assert status == 200
    audio_b = re.search(r'<audio id="audio-b"[^>]*>', html, re.S)
    assert audio_b and f'data-asset="{master.asset_id}"' in audio_b.group(0)
    assert "B · Master 1" in html
    assert _get(scenario, "outsider", f"/masters/{master.pk}/")[0] == 404


@pytest.mark.django_db
def test_verdicts_on_a_master_through_the_page(scenario: Any, song: Any) -> None:
    mix, _ref = _setup(scenario, song)
    master = _master(scenario, {"mix": mix.pk, "preset": "spotify"})
    url = f"/masters/{master.pk}/review/"
    engineer = Client()
    engineer.force_login(scenario.users["engineer"])
    missing = engineer.post(url, {"verdict": "changes_requested"}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 200 and missing["HX-Retarget"] == "#master-review-error"
    assert "say what should change" in missing.content.decode()
    done = engineer.post(url, {"verdict": "approved"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200
    html = done.content.decode()
    assert "Your latest verdict: Approved" in html
    viewer = Client()
    viewer.force_login(scenario.users["viewer"])
    assert viewer.post(url, {"verdict": "approved"}).status_code == 403
    artist = Client()
    artist.force_login(scenario.users["artist"])
    assert artist.post(url, {"verdict": "approved"}).status_code == 200
    master.refresh_from_db()
    assert master.is_approved
    _status, html = _get(scenario, "producer", f"/songs/{song.pk}/master/")
    assert "✓ Approved" in html and f"Master {master.number} is approved" in html


# --- the chart and table helpers: any report key may be missing --------------------------------


def test_spectra_are_drawn_as_tonal_balance_each_relative_to_its_own_total() -> None:
    bands = [31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000]
    flat = {"centres_hz": bands, "levels_db": [-30.0] * len(bands)}
    louder = {"centres_hz": bands, "levels_db": [-10.0] * len(bands)}
    chart = spectra_chart([("mix", "Mix", flat), ("master", "Master", louder)])
    assert chart is not None
    ys = [[p.split(",")[1] for p in line["points"].split()] for line in chart["lines"]]
    assert ys[0] == ys[1]  # the same tone, 20 dB apart, draws as one curve
    assert len(set(ys[0])) == 1
    xs = [float(p.split(",")[0]) for p in chart["lines"][0]["points"].split()]
    assert xs == sorted(xs) and xs[0] >= 40 and xs[-1] <= 590
    tilted = {"centres_hz": bands, "levels_db": [-20.0 - i for i in range(len(bands))]}
    (line,) = spectra_chart([("reference", "Ref", tilted)])["lines"]
    assert line["peak_hz"] == 31.5 and line["table"][0]["db"] > line["table"][-1]["db"]
    # Missing or broken spectra draw nothing rather than failing.
    assert spectra_chart([("mix", "Mix", None), ("master", "M", {"centres_hz": [1]})]) is None
    half = {"centres_hz": bands, "levels_db": [None, *[-20.0] * (len(bands) - 1)]}
    assert spectra_chart([("mix", "Mix", half)])["lines"][0]["bands"] == len(bands) - 1


def test_eq_and_gain_reduction_charts_scale_to_their_figures() -> None:
    eq = eq_chart([[100, 0.0], [1000, 4.5], [10000, -8.2]])
    assert eq is not None and eq["max_hz"] == 10000 and eq["max_db"] == -8.2
    assert eq["db_ticks"][0]["label"] == "-9" and not eq["flat"]
    assert eq_chart([[100, 0.0], [1000, 0.0]])["flat"]
    assert eq_chart(None) is None and eq_chart([[1, "x"]]) is None
    gr = gain_reduction_chart({"interval_s": 0.5, "db": [0, 0.5, 3.2, 1.0, 0]}, 3.4)
    assert gr is not None and gr["depth"] == 4 and gr["max_db"] == 3.4
    assert gr["limiting_share"] == 60 and gr["duration"] == "0:02"
    assert gain_reduction_chart(None, 1.0) is None
    assert gain_reduction_chart({"interval_s": 0, "db": [1, 2]}, None) is None


def test_tables_take_what_the_report_has() -> None:
    rows = figures_table(
        {"integrated_lufs": -20.04, "loudness_range_lu": 6.0, "true_peak_dbtp": -3.0},
        {"integrated_lufs": -14.0, "lra": 5.0, "true_peak_accurate_dbtp": -1.05},
    )
    by = {r["label"]: r for r in rows}
    assert by["Integrated"]["change"] == 6.0
    assert by["Loudness range"]["after"] == 5.0  # either key name
    assert by["True peak"]["before"] == -3.0 and by["True peak"]["after"] == -1.05
    assert by["Crest factor"]["before"] is None and by["Crest factor"]["change"] is None
    report = {
        "output": {"integrated_lufs": -9.0, "true_peak_accurate_dbtp": -0.5},
        "platforms": {
            "spotify": {"lufs": -14.0, "tp": -1.0, "playback_gain_db": -5.0},
            "cd": {"lufs": None, "tp": -1.0, "playback_gain_db": 0.0},
            "broken": "x",
        },
        "lossy": {
            "mp3_320": {"sample_peak_dbfs": -0.2, "clipped_samples": 0, "intersample_clipped": 3},
            "aac_256": {"skipped": "no encoder here"},
            "aac": {"available": False, "reason": "pedalboard cannot write .m4a"},
        },
    }
    platforms = {p["name"]: p for p in platforms_table(report)}
    assert set(platforms) == {"spotify", "cd"}
    assert platforms["spotify"]["heard_lufs"] == -14.0 and platforms["spotify"]["over_ceiling"]
    lossy = {r["codec"]: r for r in lossy_table(report)}
    assert lossy["mp3_320"]["clean"] is False and lossy["mp3_320"]["measured"]
    assert lossy["aac_256"]["skipped"] == "no encoder here"
    assert lossy["aac"]["skipped"] == "pedalboard cannot write .m4a"
    assert not lossy["aac"]["measured"]
    assert platforms_table({}) == [] and lossy_table({}) == []


def test_stage_values_read_the_stored_stages() -> None:
    values = stage_values(
        {
            "eq": [{"kind": "highshelf", "freq": 10000.0, "gain_db": -2.0}],
            "compressor": None,
            "saturation": {"drive_db": 4.0},
            "width": None,
        }
    )
    assert values["eq_on"] and values["high_db"] == -2.0 and values["eq_other"] == []
    assert not values["compressor_on"] and values["saturation_on"] and values["drive_db"] == 4.0
    assert not values["width_on"]
    assert stage_values(None)["compressor_on"]  # the defaults: a gentle compressor


@pytest.mark.django_db
def test_a_running_master_shows_its_progress_to_everyone_and_cancel_to_editors(
    scenario: Any, song: Any
) -> None:
    mix = mix_create(actor=scenario.users["engineer"], song=song, asset=_asset(scenario, "mix"))
    response = scenario.client("engineer").post(
        "/api/masters/", {"mix": mix.pk, "preset": "spotify"}, format="json"
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    for who, cancel in (("engineer", True), ("viewer", False)):
        status, html = _get(scenario, who, f"/songs/{song.pk}/master/")
        assert status == 200
        card = re.search(r'<section class="card" id="master-job"[^>]*>', html)
        assert card and "hidden" not in card.group(0), who
        assert f'data-state="running" data-job="{job_id}"' in html, who
        assert ('id="master-cancel"' in html) is cancel, who
        assert f'data-mixes="{mix.pk}"' in html
    # The submit waits for the running master.
    _status, html = _get(scenario, "engineer", f"/songs/{song.pk}/master/")
    assert re.search(r'id="master-submit" disabled', html)
