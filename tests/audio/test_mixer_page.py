"""The mixer page's shell: what the server tells the script (the song's sources with their
lengths, the effects allowlist with its ranges, the last render's figures) and which controls
each role gets. The browser side is tests/e2e/test_mixer.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from audio.engine.render.effects import EFFECTS
from audio.engine.render.spec import MAX_BUSES, MAX_POINTS, MAX_SENDS
from tests.audio.test_render_app import _keepers_draft, _render_in_process, _stems


def _page(scenario: Any, who: str, song: Any) -> tuple[int, str, dict[str, Any] | None]:
    client = Client()
    client.force_login(scenario.users[who])
    response = client.get(f"/songs/{song.pk}/mix/")
    html = response.content.decode()
    found = re.search(r'<script id="mixer-data" type="application/json">(.*?)</script>', html, re.S)
    return response.status_code, html, json.loads(found.group(1)) if found else None


@pytest.mark.django_db
def test_the_mixer_page_gives_the_script_sources_ranges_and_each_role_its_controls(
    scenario: Any, song: Any, tmp_path: Path
) -> None:
    stems = _stems(scenario, song, tmp_path, n=2, seconds=0.5, rate=44100)

    status, html, data = _page(scenario, "engineer", song)
    assert status == 200 and data is not None
    assert "Start a mix from the stems" in html
    assert data["mix"] is None and data["can_edit"] is True
    assert [s["name"] for s in data["sources"]] == [f"stem:{s.pk}" for s in stems]
    assert {s["frames"] for s in data["sources"]} == {22050}
    assert {s["sample_rate"] for s in data["sources"]} == {44100}
    assert data["effects"]["Compressor"]["ratio"] == {
        "lo": 1.0,
        "hi": 100.0,
        "default": 1.0,
        "unit": "",
        "choices": [],
    }
    assert set(data["effects"]) == set(EFFECTS)
    assert data["effects"]["LadderFilter"]["mode"]["choices"][0] == "LPF12"
    assert data["last_render"] is None
    # The limits the page enforces before the server would (a send, bus or point too many).
    assert data["limits"]["max_sends"] == MAX_SENDS
    assert data["limits"]["max_buses"] == MAX_BUSES
    assert data["limits"]["max_points"] == MAX_POINTS

    draft = _keepers_draft(scenario.client("engineer"), song)
    status, html, data = _page(scenario, "engineer", song)
    assert data is not None
    assert data["mix"] == draft["id"] == data["draft"]
    assert 'id="render-btn">Render Mix 1 (draft)<' in html
    assert 'id="preview-btn"' in html
    assert 'data-editable="true"' in html
    for box in ("clip-add", "auto-editor", "bus-add", "mixer-status"):
        assert f'id="{box}"' in html, box

    for who in ("artist", "viewer"):
        status, html, data = _page(scenario, who, song)
        assert status == 200 and data is not None, who
        assert data["mix"] == draft["id"] and data["can_edit"] is False
        assert 'id="render-btn"' not in html and 'id="preview-btn"' not in html
        assert "Start a mix" not in html
        assert 'data-editable="false"' in html
    assert _page(scenario, "outsider", song)[0] == 404

    job = _render_in_process(scenario.client("engineer"), draft["id"])
    status, html, data = _page(scenario, "artist", song)
    assert data is not None
    report = job.result["report"]
    assert data["last_render"]["mix"] == draft["id"] and data["last_render"]["rendered"] is True
    assert data["last_render"]["sample_peak_dbfs"] == report["sample_peak_dbfs"]
    assert data["last_render"]["integrated_lufs"] == report["integrated_lufs"]
    assert data["draft"] is None and data["previous"] == draft["id"]
    assert "is rendered: its spec never changes" in html
    # An editor may start the next draft from it.
    status, html, data = _page(scenario, "engineer", song)
    assert f'data-parent="{draft["id"]}">New draft from Mix 1<' in html
