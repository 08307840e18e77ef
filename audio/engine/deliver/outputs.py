"""The files of a delivery, each written in blocks as the tracks go by.

- ``AlbumWav``: the whole programme as one 16-bit WAV, pregaps included (the file the CUE sheet
  indexes); written through libsndfile from int16 samples, so nothing is converted again.
- ``DdpImage``: a DDP 2.0 image: ``IMAGE.DAT`` (the same PCM as the album's data chunk, 2352
  bytes a sector, little-endian), ``PQDESCR`` (a 64-byte PQ record for every INDEX 00 and 01
  and the lead-out), ``DDPMS`` (the map: one 128-byte packet for the image, one for the PQ
  descriptor), ``DDPID`` (the 128-byte identifier with the UPC/EAN) and ``CHECKSUM.MD5``.
- ``cue_sheet``: the CUE sheet's text, from the layout alone.
- ``FlacTrack`` and ``Mp3Track``: one track each (libsndfile's FLAC from int16; pedalboard's
  LAME for MP3), tagged afterwards with mutagen: Vorbis comments and a front-cover picture,
  ID3v2.4 frames and an APIC.

Every file is written under its final name inside the delivery's staging folder, which is
renamed into place only when all of it is whole (``audio.engine.deliver.deliver``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from audio.engine.deliver.codes import catalog13
from audio.engine.deliver.layout import Layout
from audio.engine.deliver.redbook import CD_CHANNELS, CD_RATE, FRAME_SAMPLES, SECTOR_BYTES, msf
from audio.engine.deliver.release import Release
from audio.engine.errors import Unreadable

Int16 = npt.NDArray[np.int16]
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


def file_stem(number: int, title: str) -> str:
    """``NN Title``, with the characters no file system takes replaced by ``_``."""
    clean = _UNSAFE.sub("_", title).strip(" .") or "Track"
    return f"{number:02d} {clean[:100]}"


def pcm_bytes(block: Int16) -> bytes:
    """(frames, 2) int16 as little-endian interleaved bytes: a WAV data chunk, a CD sector."""
    return np.ascontiguousarray(block, dtype="<i2").tobytes()


class AlbumWav:
    """The programme as one 16-bit 44.1 kHz stereo WAV."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.snd = sf.SoundFile(path, "w", CD_RATE, CD_CHANNELS, "PCM_16", format="WAV")
        except (OSError, RuntimeError) as exc:
            raise Unreadable(f"{path}: cannot write ({exc})") from None
        self.frames = 0

    def write(self, block: Int16) -> None:
        self.snd.write(block)
        self.frames += block.shape[0]

    def close(self) -> None:
        self.snd.close()


# ---------------------------------------------------------------------------------------------
# CUE sheet


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def cue_sheet(release: Release, layout: Layout, wav_name: str = "album.wav") -> str:
    """The CUE sheet of the album file: times are exact, since every index is a whole frame."""
    lines = []
    if release.upc:
        lines.append(f"CATALOG {catalog13(release.upc)}")
    lines += [
        f"PERFORMER {_quoted(release.artist)}",
        f"TITLE {_quoted(release.title)}",
        f"FILE {_quoted(wav_name)} WAVE",
    ]
    for track, place in zip(release.tracks, layout.tracks, strict=True):
        lines += [
            f"  TRACK {place.number:02d} AUDIO",
            f"    TITLE {_quoted(track.title)}",
            f"    PERFORMER {_quoted(track.artist)}",
        ]
        if track.isrc:
            lines.append(f"    ISRC {track.isrc}")
        if place.pregap:
            lines.append(f"    INDEX 00 {msf(place.index00 // FRAME_SAMPLES)}")
        lines.append(f"    INDEX 01 {msf(place.index01 // FRAME_SAMPLES)}")
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------------------------
# DDP 2.0


def _ascii(text: str) -> str:
    return "".join(c if " " <= c <= "~" else "?" for c in text)


def _field(text: str, width: int) -> str:
    """Left-aligned, space-padded, cut to ``width`` (DDP fields are fixed-width ASCII)."""
    return _ascii(text)[:width].ljust(width)


def _number(value: int, width: int) -> str:
    text = str(value).rjust(width)
    if len(text) > width:
        raise ValueError(f"{value} does not fit in {width} characters")
    return text


@dataclass(frozen=True)
class PqEntry:
    track: str  # "01".."99", "AA" for the lead-out
    index: int
    frames: int  # from the start of the image
    isrc: str = ""
    upc: str = ""

    def record(self) -> bytes:
        mm, ss, ff = msf(self.frames).split(":")
        text = (
            "VVVS"
            + self.track
            + f"{self.index:02d}"
            + "  "  # hours, unused
            + mm.rjust(2)[-2:]
            + ss
            + ff
            + "01"  # control/ADR: two-channel audio, no pre-emphasis, ADR 1
            + "  "
            + _field(self.isrc, 12)
            + _field(self.upc, 13)
            + _field("", 19)
        )
        if len(text) != 64:
            raise ValueError("a PQ record is 64 bytes")
        return text.encode("ascii")


def pq_entries(release: Release, layout: Layout) -> list[PqEntry]:
    upc = catalog13(release.upc) if release.upc else ""
    out: list[PqEntry] = []
    for track, place in zip(release.tracks, layout.tracks, strict=True):
        number = f"{place.number:02d}"
        isrc = track.isrc or ""
        first_upc = upc if place.number == 1 else ""
        if place.pregap:
            out.append(PqEntry(number, 0, place.index00 // FRAME_SAMPLES, isrc, first_upc))
            first_upc = ""
        out.append(PqEntry(number, 1, place.index01 // FRAME_SAMPLES, isrc, first_upc))
    out.append(PqEntry("AA", 1, layout.samples // FRAME_SAMPLES))
    return out


def _map_packet(
    dst: str, length: int, sub: str, name: str, *, cdm: str = "", pre2: int | None = None
) -> bytes:
    text = (
        "VVVM"
        + dst
        + _field("", 8)  # DSP
        + str(length).zfill(8)  # DSL: sectors of the image, bytes of a descriptor
        + _field("", 8)  # DSS: blank, the first pregap is in the image
        + _field(sub, 8)
        + _field(cdm, 2)
        + ("0" if cdm else " ")  # SSM: 2352-byte sectors, user data only
        + ("0" if cdm else " ")  # SCR: not scrambled
        + _field("", 4)  # PRE1
        + (_number(pre2, 4) if pre2 is not None else _field("", 4))
        + _field("", 4)  # PST
        + " "  # MED
        + _field("", 2)  # TRK
        + _field("", 2)  # IDX
        + _field("", 12)  # ISRC
        + "017"
        + _field(name, 17)
        + _field("", 1 + 4 + 8 + 9 + 15)  # NEW, PRE1NXT, PAUSEADD, OFS, pad
    )
    if len(text) != 128:
        raise ValueError("a DDPMS packet is 128 bytes")
    return text.encode("ascii")


class DdpImage:
    """Write ``IMAGE.DAT`` as the album goes by; ``finish`` writes the descriptors and MD5s."""

    IMAGE = "IMAGE.DAT"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir()
        self.fh = open(folder / self.IMAGE, "wb")  # noqa: SIM115  (closed in finish/abort)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        self.md5.update(data)
        self.bytes += len(data)

    def finish(self, release: Release, layout: Layout) -> None:
        self.fh.close()
        sectors, rest = divmod(self.bytes, SECTOR_BYTES)
        if rest or sectors * FRAME_SAMPLES != layout.samples:
            raise ValueError(f"IMAGE.DAT holds {self.bytes} bytes, not the album's sectors")
        pq = b"".join(e.record() for e in pq_entries(release, layout))
        first_pregap = layout.tracks[0].pregap // FRAME_SAMPLES
        ms = _map_packet("D0", sectors, "", self.IMAGE, cdm="DA", pre2=first_pregap) + _map_packet(
            "S0", len(pq), "PQ DESCR", "PQDESCR"
        )
        upc = catalog13(release.upc) if release.upc else ""
        ident = (
            "DDP 2.00"
            + _field(upc, 13)
            + _field("", 8)  # MSS
            + _number(len(ms), 8)  # MSL
            + " "  # MED
            + _field(release.title, 48)  # master id
            + " "  # BK
            + "CD"
        ).ljust(128)
        files = {"PQDESCR": pq, "DDPMS": ms, "DDPID": ident.encode("ascii")}
        sums = {self.IMAGE: self.md5.hexdigest()}
        for name, data in files.items():
            (self.folder / name).write_bytes(data)
            sums[name] = hashlib.md5(data, usedforsecurity=False).hexdigest()
        lines = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
        (self.folder / "CHECKSUM.MD5").write_text(lines, encoding="ascii")

    def abort(self) -> None:
        if not self.fh.closed:
            self.fh.close()


# ---------------------------------------------------------------------------------------------
# FLAC and MP3, with tags


@dataclass(frozen=True)
class Artwork:
    data: bytes
    mime: str
    width: int
    height: int


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or baseline/progressive JPEG, from its header; None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        size = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3):
            h, w = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(w), int(h)
        at += 2 + size
    return None


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str
    album: str
    album_artist: str
    number: int
    total: int
    isrc: str | None
    barcode: str | None
    label: str
    copyright: str
    p_line: str


class FlacTrack:
    """One track as 16-bit FLAC (lossless: the same int16 samples as the WAV)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.snd = sf.SoundFile(path, "w", CD_RATE, CD_CHANNELS, "PCM_16", format="FLAC")

    def write(self, block: Int16) -> None:
        self.snd.write(block)

    def close(self, tags: Tags, art: Artwork | None) -> None:
        flac = _mutagen("mutagen.flac")
        self.snd.close()
        f = flac.FLAC(self.path)
        comments = {
            "TITLE": tags.title,
            "ARTIST": tags.artist,
            "ALBUM": tags.album,
            "ALBUMARTIST": tags.album_artist,
            "TRACKNUMBER": str(tags.number),
            "TRACKTOTAL": str(tags.total),
            "ISRC": tags.isrc or "",
            "BARCODE": tags.barcode or "",
            "LABEL": tags.label,
            "COPYRIGHT": tags.copyright,
        }
        for key, value in comments.items():
            if value:
                f[key] = value
        if art is not None:
            pic = flac.Picture()
            pic.type = 3  # front cover
            pic.mime = art.mime
            pic.desc = "Front cover"
            pic.width, pic.height, pic.depth = art.width, art.height, 24
            pic.data = art.data
            f.add_picture(pic)
        f.save()

    def abort(self) -> None:
        if not self.snd.closed:
            self.snd.close()


class Mp3Track:
    """One track as CBR MP3 through pedalboard's LAME; libsndfile decodes it to the exact
    length (pedalboard's own reader keeps the encoder delay)."""

    def __init__(self, path: Path, bitrate: int) -> None:
        from pedalboard.io import AudioFile

        self.path = path
        self.file = AudioFile(os.fspath(path), "w", CD_RATE, CD_CHANNELS, quality=str(bitrate))

    def write(self, block: Int16) -> None:
        self.file.write(np.ascontiguousarray(block.T, dtype=np.float32) / 32768.0)

    def close(self, tags: Tags, art: Artwork | None) -> None:
        id3 = _mutagen("mutagen.id3")
        self.file.close()
        tag = id3.ID3()
        tag.add(id3.TIT2(encoding=3, text=[tags.title]))
        tag.add(id3.TPE1(encoding=3, text=[tags.artist]))
        tag.add(id3.TALB(encoding=3, text=[tags.album]))
        tag.add(id3.TPE2(encoding=3, text=[tags.album_artist]))
        tag.add(id3.TRCK(encoding=3, text=[f"{tags.number}/{tags.total}"]))
        if tags.isrc:
            tag.add(id3.TSRC(encoding=3, text=[tags.isrc]))
        if tags.barcode:
            tag.add(id3.TXXX(encoding=3, desc="BARCODE", text=[tags.barcode]))
        if tags.copyright:
            tag.add(id3.TCOP(encoding=3, text=[tags.copyright]))
        if tags.p_line:
            tag.add(id3.TPRO(encoding=3, text=[tags.p_line]))
        if tags.label:
            tag.add(id3.TPUB(encoding=3, text=[tags.label]))
        if art is not None:
            tag.add(id3.APIC(encoding=3, mime=art.mime, type=3, desc="Front cover", data=art.data))
        tag.save(self.path, v2_version=4)

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()


def _mutagen(name: str) -> Any:
    """A mutagen module, typed loosely: mutagen ships no annotations."""
    return importlib.import_module(name)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
