"""The page, the API's gates and the 409 of a refused move show the same checks."""

import re

from studio.gates import gate_checks
from studio.selectors import song_facts


def _page_checklist(html: str) -> list[tuple[str, bool]]:
    items = re.findall(
        r'<li class="(ok)?"[^>]*><span class="visually-hidden">[^<]*</span>([^<]+)</li>', html
    )
    return [(label.strip().lower(), ok == "ok") for ok, label in items]


def test_page_api_and_refusal_render_the_same_checks(scenario, song):
    song.stage = "mastering"
    song.save(update_fields=["stage"])
    expected = [c.as_dict() for c in gate_checks(song_facts(song), "delivered")]
    assert any(not c["met"] for c in expected)

    rows = scenario.client("viewer").get(f"/api/songs/{song.pk}/gates/").json()
    assert next(r for r in rows if r["stage"] == "delivered")["checks"] == expected

    refused = scenario.client("producer").post(
        f"/api/songs/{song.pk}/move/", {"to": "delivered"}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["fields"]["checks"] == expected

    browser = scenario.client(None)
    browser.force_login(scenario.users["producer"])
    page = browser.get(f"/songs/{song.pk}/").content.decode()
    block = page[page.index('id="gate-reasons"') :]
    block = block[: block.index("</ul>")]
    assert _page_checklist(block) == [(c["label"].lower(), c["met"]) for c in expected]
