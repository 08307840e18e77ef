"""A release as data a distributor or a rights society reads: JSON and CSV (docs/delivery.md
lists every field).

JSON: the release (title, artist, label, upc, p_line, c_line, release_date) and its tracks in
order, each with its song, ISRC, title and artist as printed, duration, credits (role,
contributor, instrument, IPI, ISNI) and splits per right (composition, master: party and share).
CSV: one row per credit or split of each track (the track's columns repeated), so a spreadsheet
filters it by `row_type`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from delivery.models import Release
from delivery.selectors import isrcs_for, release_tracks, running_time
from studio.models import Credit, Split

CSV_COLUMNS = (
    "release_title",
    "release_artist",
    "upc",
    "label",
    "release_date",
    "position",
    "track_title",
    "track_artist",
    "isrc",
    "duration_s",
    "row_type",
    "role",
    "name",
    "instrument",
    "ipi",
    "isni",
    "right",
    "share",
)


def release_export(release: Release) -> dict[str, Any]:
    tracks = release_tracks(release)
    songs = [t.song_id for t in tracks]
    codes = isrcs_for([t.master_id for t in tracks if t.master_id])
    times = {row["track"]: row for row in running_time(release, tracks)["tracks"]}
    credits: dict[int, list[dict[str, Any]]] = {}
    for c in Credit.objects.filter(song_id__in=songs).order_by("song_id", "role", "id"):
        credits.setdefault(c.song_id, []).append(
            {
                "role": c.role,
                "name": c.contributor_name,
                "instrument": c.instrument,
                "ipi": c.ipi,
                "isni": c.isni,
            }
        )
    splits: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for sp in Split.objects.filter(song_id__in=songs).order_by("song_id", "right", "party"):
        splits.setdefault(sp.song_id, {}).setdefault(sp.right, []).append(
            {"party": sp.party, "share": f"{sp.share:.2f}"}
        )
    return {
        "version": 1,
        "release": {
            "id": release.pk,
            "title": release.title,
            "artist": release.artist,
            "label": release.label,
            "upc": release.upc,
            "p_line": release.p_line,
            "c_line": release.c_line,
            "release_date": release.release_date.isoformat() if release.release_date else None,
        },
        "tracks": [
            {
                "position": t.position,
                "song": t.song_id,
                "title": t.title,
                "artist": t.artist or release.artist,
                "isrc": codes.get(t.master_id) if t.master_id else None,
                "master": t.master_id,
                "duration_s": round(times[t.pk]["length_s"], 3),
                "credits": credits.get(t.song_id, []),
                "splits": splits.get(t.song_id, {}),
            }
            for t in tracks
        ],
    }


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's
    advice on CSV injection); numbers pass as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def release_export_csv(release: Release) -> str:
    data = release_export(release)
    r = data["release"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    rows: list[dict[str, Any]] = []
    for t in data["tracks"]:
        base = {
            "release_title": r["title"],
            "release_artist": r["artist"],
            "upc": r["upc"],
            "label": r["label"],
            "release_date": r["release_date"] or "",
            "position": t["position"],
            "track_title": t["title"],
            "track_artist": t["artist"],
            "isrc": t["isrc"] or "",
            "duration_s": t["duration_s"],
        }
        rows.append({**base, "row_type": "track"})
        rows.extend({**base, "row_type": "credit", **c} for c in t["credits"])
        rows.extend(
            {**base, "row_type": "split", "right": right, "name": sh["party"], "share": sh["share"]}
            for right, shares in t["splits"].items()
            for sh in shares
        )
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()
