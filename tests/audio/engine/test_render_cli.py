"""``python -m audio.engine render``: a report and exit 0, or exit 2 with one ``error:`` line
that names the JSON path (or file) and the value, and no output file left behind."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from audio.engine.cli import main
from tests.audio.engine.mixes import noise, tone, write_source

pytestmark = pytest.mark.engine

ROOT = Path(__file__).resolve().parents[3]
RATE = 16000


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audio.engine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def good_spec() -> dict[str, Any]:
    return {
        "version": 1,
        "sample_rate": RATE,
        "tracks": [
            {
                "id": "vox",
                "fx": [{"type": "Compressor", "threshold_db": -18, "ratio": 3}],
                "sends": [{"bus": "verb", "level_db": -12}],
                "clips": [{"source": "stems/vox.wav", "start": 800, "length": 12000}],
            },
            {"id": "gtr", "pan": 0.3, "clips": [{"source": "stems/gtr.wav", "start": 0}]},
        ],
        "buses": [{"id": "verb", "fx": [{"type": "Reverb", "room_size": 0.3}]}],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A spec folder with its stems (relative paths in the spec)."""
    write_source(tmp_path, "stems/vox.wav", noise(RATE, 1.0, seed=1), RATE)
    write_source(tmp_path, "stems/gtr.wav", tone(44100, 1.0, 300, channels=2), 44100)
    return tmp_path


def write_spec(folder: Path, spec: Any, name: str = "mix.json") -> Path:
    path = folder / name
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return path


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".wav", ".part"))


def test_render_prints_the_report_and_progress(project: Path) -> None:
    """Exit 0, one JSON object, progress lines on stderr; a relative source resolves from the
    spec's folder whatever the working directory."""
    spec = write_spec(project, good_spec())
    done = cli("render", str(spec), str(project / "out.wav"), "--progress")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["channels"] == 2 and report["sample_rate"] == RATE
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith("progress ") for line in lines)
    values = [float(line.split()[1]) for line in lines]
    assert values == sorted(values) and values[-1] == 1.0
    data, rate = sf.read(project / "out.wav")
    assert rate == RATE and data.shape == (report["frames"], 2)
    quiet = cli("render", str(spec), str(project / "quiet.wav"), "--bit-depth", "24")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_help_explains_and_exits_0() -> None:
    done = cli("render", "--help")
    assert done.returncode == 0
    for word in ("SPEC.json", "OUT.wav", "--bit-depth", "--progress", "--range", "JSON"):
        assert word in done.stdout


def test_a_bad_spec_from_the_real_command(project: Path) -> None:
    """The subprocess path: one line, no traceback, no file."""
    spec = good_spec()
    spec["tracks"][0]["fx"][0]["ratio"] = 0.5
    done = cli("render", str(write_spec(project, spec)), str(project / "out.wav"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "error: tracks[0].fx[0].ratio: 0.5 is outside 1-100\n"
    assert outputs(project) == []


def _bad(kind: str) -> Any:
    spec = good_spec()
    vox = spec["tracks"][0]
    if kind == "unknown effect":
        vox["fx"][0]["type"] = "Flanger"
    elif kind == "unknown parameter":
        vox["fx"][0]["knee"] = 2
    elif kind == "out of range":
        vox["pan"] = -3
    elif kind == "missing source":
        vox["clips"][0]["source"] = "stems/nope.wav"
    elif kind == "clip past the end":
        vox["clips"][0]["length"] = 20000
    elif kind == "bus cycle":
        spec["buses"] = [{"id": "verb", "output": "echo"}, {"id": "echo", "output": "verb"}]
    elif kind == "unknown version":
        spec["version"] = 7
    elif kind == "malformed JSON":
        return json.dumps(spec)[:-3]
    elif kind == "1,000 tracks":
        spec["tracks"] = [dict(copy.deepcopy(vox), id=f"t{i}") for i in range(1000)]
    elif kind == "10-hour length":
        spec["length"] = RATE * 36000
    elif kind == "sample rate":
        spec["sample_rate"] = 200000
    elif kind == "fade longer than the clip":
        vox["clips"][0]["fade_in"] = {"length": 13000}
    elif kind == "unsorted automation":
        vox["automation"] = {"gain_db": [[10, 0.0], [5, 1.0]]}
    elif kind == "not a spec":
        return "[]"
    return spec


BAD = {
    "unknown effect": 'tracks[0].fx[0].type: "Flanger" is not an allowed effect',
    "unknown parameter": "tracks[0].fx[0].knee: unknown parameter of Compressor",
    "out of range": "tracks[0].pan: -3 is outside -1 to 1",
    "missing source": "tracks[0].clips[0].source: ",
    "clip past the end": "tracks[0].clips[0].length: the clip needs source frames 0 to 20000 "
    '(20000 frames) but "stems/vox.wav" has 16000 frames',
    "bus cycle": "buses[1]: a bus cycle: verb -> echo -> verb",
    "unknown version": "version: 7 is not a known version",
    "malformed JSON": "spec: malformed JSON at line 1",
    "1,000 tracks": "tracks: 1000 tracks is over the limit of 128",
    "10-hour length": "length: 576000000 frames is 10.0 hours at 16000 Hz, over the 60-minute",
    "sample rate": "sample_rate: 200000 is outside 8000-192000",
    "fade longer than the clip": "tracks[0].clips[0].fade_out.length: fades of 13000 + 0",
    "unsorted automation": "tracks[0].automation.gain_db[1].frame: 5 is not after",
    "not a spec": "spec: [] is not a mix spec",
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_every_kind_of_bad_spec_exits_2_with_one_line(
    project: Path, kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The CLI's own entry point (as ``python -m`` runs it), in process to stay fast."""
    spec = write_spec(project, _bad(kind))
    code = main(["render", str(spec), str(project / "out.wav"), "--progress"])
    out, err = capfd.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(f"error: {BAD[kind]}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert outputs(project) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json", "out.wav"], "error: missing.json: file not found"),
        (["mix.json", "nofolder/out.wav"], "error: nofolder/out.wav: the folder"),
        (["mix.json", "out.wav", "--range", "10-20"], "error: range: '10-20' is not START:END"),
        (["mix.json", "out.wav", "--range", "900000:900100"], "error: range: start 900000"),
        (["mix.json", "out.wav", "--bit-depth", "8"], "error: argument --bit-depth: invalid"),
        (["mix.json", "out.wav", "--threads", "0"], "error: --threads: 0 is outside 1-64"),
        (["mix.json", "out.wav", "--cache-dir", "mix.json"], "error: mix.json: cannot use as a"),
    ],
)
def test_bad_files_and_options(
    project: Path,
    args: list[str],
    message: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_spec(project, good_spec())
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) if "--bit-depth" in args else _no_raise():
        code = main(["render", *args])
        assert code == 2
    _, err = capfd.readouterr()
    assert err.startswith(message), err
    assert err.count("\n") == 1
    assert outputs(project) == []


class _no_raise:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_an_unreadable_source_names_the_clip(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (project / "stems" / "vox.wav").write_bytes(b"not audio at all")
    code = main(["render", str(write_spec(project, good_spec())), str(project / "out.wav")])
    _, err = capfd.readouterr()
    assert code == 2
    assert err.startswith("error: tracks[0].clips[0].source: ") and "vox.wav" in err
    assert err.count("\n") == 1 and outputs(project) == []


def test_a_range_from_the_cli_equals_the_full_render(project: Path) -> None:
    spec = str(write_spec(project, good_spec()))
    assert main(["render", spec, str(project / "full.wav")]) == 0
    assert main(["render", spec, str(project / "part.wav"), "--range", "4000:9000"]) == 0
    whole, _ = sf.read(project / "full.wav", dtype="float32")
    part, _ = sf.read(project / "part.wav", dtype="float32")
    assert np.array_equal(part, whole[4000:9000])
