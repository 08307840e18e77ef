"""The files of a delivery agree with each other to the sample: the CUE sheet indexes the album
file exactly, the DDP image is the album's PCM with a matching MD5, FLAC and MP3 decode to the
right lengths and carry exact tags and the cover, and the manifest holds every file."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import soxr
from mutagen.flac import FLAC
from mutagen.id3 import ID3

from audio.engine.deliver.redbook import CD_RATE, FRAME_SAMPLES, SECTOR_BYTES, msf_frames
from audio.engine.deliver.release import Release
from audio.engine.deliver.run import deliver
from tests.audio.engine.deliver_fixtures import album_folder

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("release")
    path = album_folder(folder)
    release = Release.from_json(path.read_bytes())
    out = folder / "out"
    summary = deliver(release, folder, out)
    return out, summary, folder


def ints(path: Path) -> npt.NDArray[np.int16]:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == CD_RATE
    return data


def parse_cue(text: str) -> list[dict[str, Any]]:
    tracks: list[dict[str, Any]] = []
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["TRACK"]:
            tracks.append({"number": int(words[1]), "index": {}})
        elif words[:1] == ["INDEX"]:
            tracks[-1]["index"][int(words[1])] = msf_frames(words[2]) * FRAME_SAMPLES
        elif tracks and words[:1] in (["TITLE"], ["PERFORMER"]):
            tracks[-1][words[0].lower()] = line.split('"')[1]
        elif tracks and words[:1] == ["ISRC"]:
            tracks[-1]["isrc"] = words[1]
    return tracks


def track_wavs(out: Path) -> list[Path]:
    return sorted((out / "wav").iterdir())


def test_every_file_is_there(delivered: tuple[Path, dict[str, Any], Path]) -> None:
    out, _, folder = delivered
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "album.cue",
        "album.wav",
        "ddp/CHECKSUM.MD5",
        "ddp/DDPID",
        "ddp/DDPMS",
        "ddp/IMAGE.DAT",
        "ddp/PQDESCR",
        "flac/01 Intro.flac",
        "flac/02 Drive_Home.flac",
        "flac/03 Outro.flac",
        "manifest.json",
        "mp3/01 Intro.mp3",
        "mp3/02 Drive_Home.mp3",
        "mp3/03 Outro.mp3",
        "qc.html",
        "qc.json",
        "wav/01 Intro.wav",
        "wav/02 Drive_Home.wav",
        "wav/03 Outro.wav",
    ]
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_the_cue_sheet_indexes_the_album_to_the_sample(
    delivered: tuple[Path, dict[str, Any], Path],
) -> None:
    out, _, _ = delivered
    text = (out / "album.cue").read_text()
    assert text.splitlines()[0] == "CATALOG 0036000291452"
    cue = parse_cue(text)
    album = ints(out / "album.wav")
    wavs = track_wavs(out)
    assert [t["number"] for t in cue] == [1, 2, 3]
    assert [t["isrc"] for t in cue] == ["USRC17607839", "USRC17607840", "USRC17607841"]
    assert cue[1]["performer"] == "Ava feat. Bo" and cue[1]["title"] == "Drive/Home"
    assert cue[0]["index"][0] == 0 and cue[0]["index"][1] == 2 * CD_RATE
    at = 0
    for entry, wav in zip(cue, wavs, strict=True):
        track = ints(wav)
        start = entry["index"][1]
        assert start % FRAME_SAMPLES == 0 and len(track) % FRAME_SAMPLES == 0
        pregap = start - entry["index"].get(0, start)
        assert entry["index"].get(0, start) == at  # the pregap starts where the last track ended
        assert not album[at:start].any()  # digital silence
        assert np.array_equal(album[start : start + len(track)], track)
        at = start + len(track)
        assert pregap in (0, CD_RATE, 2 * CD_RATE)
    assert at == len(album)


def test_track_lengths_follow_the_resampled_sources(
    delivered: tuple[Path, dict[str, Any], Path],
) -> None:
    """48 kHz 5 s, 44.1 kHz 6.3 s less 0.3 s of trims, 96 kHz 4.5 s: each at 44.1 kHz, padded
    up to the next CD frame by less than a frame."""
    out, summary, _ = delivered
    wanted = [5 * CD_RATE, round(6.3 * CD_RATE) - round(0.3 * CD_RATE), round(4.5 * CD_RATE)]
    for wav, kept in zip(track_wavs(out), wanted, strict=True):
        n = sf.info(wav).frames
        assert 0 <= n - kept < FRAME_SAMPLES
        assert sf.info(wav).subtype == "PCM_16" and sf.info(wav).channels == 2
    assert summary["samples"] == sf.info(out / "album.wav").frames


def test_the_first_track_is_the_source_resampled_and_faded(
    delivered: tuple[Path, dict[str, Any], Path],
) -> None:
    """soxr VHQ one-shot of the 48 kHz master, the s-curve fades, then dither: within 1.5 LSB."""
    out, _, folder = delivered
    src, rate = sf.read(folder / "masters/01.wav", dtype="float32", always_2d=True)
    ref = soxr.resample(src, rate, CD_RATE, quality="VHQ").astype(np.float64)
    n = len(ref)
    k = np.arange(n)
    fin, fout = round(0.5 * CD_RATE), CD_RATE
    gain = np.ones(n)
    gain[:fin] = (1 - np.cos(np.pi * k[:fin] / fin)) / 2
    j = n - 1 - k[n - fout :]
    gain[n - fout :] *= (1 - np.cos(np.pi * j / fout)) / 2
    ref *= gain[:, None]
    got = ints(track_wavs(out)[0]).astype(np.float64)
    assert np.abs(got[:n] - ref * 32768).max() <= 1.5
    assert np.abs(got[n:]).max(initial=0) <= 1  # the pad to a CD frame: silence (with its dither)


def test_the_ddp_image_is_the_album_with_its_md5(
    delivered: tuple[Path, dict[str, Any], Path],
) -> None:
    out, _, _ = delivered
    ddp = out / "ddp"
    image = (ddp / "IMAGE.DAT").read_bytes()
    assert len(image) % SECTOR_BYTES == 0
    assert np.array_equal(np.frombuffer(image, dtype="<i2").reshape(-1, 2), ints(out / "album.wav"))
    sums = {}
    for line in (ddp / "CHECKSUM.MD5").read_text().splitlines():
        digest, name = line[:32], line[34:]
        sums[name] = digest
        assert hashlib.md5((ddp / name).read_bytes()).hexdigest() == digest  # noqa: S324
    assert set(sums) == {"IMAGE.DAT", "PQDESCR", "DDPMS", "DDPID"}
    ident = (ddp / "DDPID").read_bytes().decode("ascii")
    assert len(ident) == 128 and ident[:8] == "DDP 2.00" and ident[8:21] == "0036000291452"
    assert ident[87:89] == "CD" and int(ident[29:37]) == 256
    ms = (ddp / "DDPMS").read_bytes().decode("ascii")
    assert len(ms) == 256
    d0, s0 = ms[:128], ms[128:]
    assert d0[:6] == "VVVMD0" and d0[38:40] == "DA" and d0[74:91].strip() == "IMAGE.DAT"
    assert int(d0[14:22]) == len(image) // SECTOR_BYTES and int(d0[46:50]) == 150
    pq_bytes = (ddp / "PQDESCR").read_bytes()
    assert s0[:6] == "VVVMS0" and s0[30:38] == "PQ DESCR" and int(s0[14:22]) == len(pq_bytes)
    pq = [pq_bytes[i : i + 64].decode("ascii") for i in range(0, len(pq_bytes), 64)]
    cue = parse_cue((out / "album.cue").read_text())
    want = [
        (f"{t['number']:02d}", idx, t["index"][idx] // FRAME_SAMPLES, t["isrc"])
        for t in cue
        for idx in sorted(t["index"])
    ] + [("AA", 1, len(image) // SECTOR_BYTES, "")]
    got = [
        (r[4:6], int(r[6:8]), msf_frames(f"{r[10:12]}:{r[12:14]}:{r[14:16]}"), r[20:32].strip())
        for r in pq
    ]
    assert all(r[:4] == "VVVS" for r in pq)
    assert got == want


def test_flac_is_lossless_and_tagged(delivered: tuple[Path, dict[str, Any], Path]) -> None:
    out, _, folder = delivered
    cover = (folder / "cover.png").read_bytes()
    for n, (flac, wav) in enumerate(
        zip(sorted((out / "flac").iterdir()), track_wavs(out), strict=True), 1
    ):
        assert np.array_equal(ints(flac), ints(wav))
        tags = FLAC(flac)
        assert tags["TRACKNUMBER"] == [str(n)] and tags["ALBUM"] == ["Night Drive EP"]
        assert tags["BARCODE"] == ["036000291452"] and tags["LABEL"] == ["Demo Records"]
        assert tags["COPYRIGHT"] == ["2026 Demo Records"]
        assert tags["ISRC"] == [f"USRC176078{38 + n}"]
        (pic,) = tags.pictures
        assert pic.type == 3 and pic.mime == "image/png" and pic.data == cover
        assert (pic.width, pic.height) == (32, 32)
    second = FLAC(out / "flac/02 Drive_Home.flac")
    assert second["TITLE"] == ["Drive/Home"] and second["ARTIST"] == ["Ava feat. Bo"]


def test_mp3_decodes_to_the_exact_length_and_is_tagged(
    delivered: tuple[Path, dict[str, Any], Path],
) -> None:
    out, _, folder = delivered
    cover = (folder / "cover.png").read_bytes()
    for n, (mp3, wav) in enumerate(
        zip(sorted((out / "mp3").iterdir()), track_wavs(out), strict=True), 1
    ):
        decoded, rate = sf.read(mp3, dtype="float32", always_2d=True)
        assert rate == CD_RATE and decoded.shape == (sf.info(wav).frames, 2)
        ref = ints(wav) / 32768
        corr = np.corrcoef(decoded[:, 0], ref[:, 0])[0, 1]
        assert corr > 0.99  # aligned: no encoder delay left in
        tag = ID3(mp3)
        assert tag.version == (2, 4, 0)
        assert str(tag["TRCK"]) == f"{n}/3" and str(tag["TALB"]) == "Night Drive EP"
        assert str(tag["TSRC"]) == f"USRC176078{38 + n}"
        assert tag.getall("TXXX:BARCODE")[0].text == ["036000291452"]
        assert str(tag["TCOP"]) == "2026 Demo Records" and str(tag["TPUB"]) == "Demo Records"
        (apic,) = tag.getall("APIC")
        assert apic.type == 3 and apic.mime == "image/png" and apic.data == cover
        assert sf.info(mp3).format == "MP3"
    assert str(ID3(out / "mp3/01 Intro.mp3")["TIT2"]) == "Intro"
    assert str(ID3(out / "mp3/02 Drive_Home.mp3")["TPE1"]) == "Ava feat. Bo"


def test_the_manifest_lists_every_file(delivered: tuple[Path, dict[str, Any], Path]) -> None:
    out, summary, _ = delivered
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(listed) == on_disk
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert summary["files"] == manifest["files"]


def test_the_same_release_gives_the_same_bytes(
    delivered: tuple[Path, dict[str, Any], Path], tmp_path: Path
) -> None:
    out, _, folder = delivered
    release = Release.from_json((folder / "release.json").read_bytes())
    again = deliver(release, folder, tmp_path / "again")
    first = json.loads((out / "manifest.json").read_text())["files"]
    assert again["files"] == first
    assert (out / "manifest.json").read_bytes() == (tmp_path / "again/manifest.json").read_bytes()


def test_only_the_formats_asked_for(tmp_path: Path) -> None:
    path = album_folder(tmp_path / "r")
    data = json.loads(path.read_text())
    data["formats"] = ["flac"]
    data["tracks"] = data["tracks"][:1]
    release = Release.from_dict(data)
    out = tmp_path / "out"
    deliver(release, path.parent, out)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == ["flac/01 Intro.flac", "manifest.json"]


def test_the_qc_report_is_written(delivered: tuple[Path, dict[str, Any], Path]) -> None:
    out, summary, _ = delivered
    rep = json.loads((out / "qc.json").read_text())
    assert next(iter(rep)) == "status" and rep["status"] == summary["qc"]["status"]
    assert len(rep["tracks"]) == 3
    ids = {c["id"] for c in rep["tracks"][0]["checks"]}
    assert {"true_peak", "integrated_loudness", "mp3_clipped_samples", "isrc"} <= ids
    page = (out / "qc.html").read_text()
    assert re.search(r'<div class="banner (pass|warn|fail)">', page)
