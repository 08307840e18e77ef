"""The review-link API: sending answers the link once (never again), the list and detail carry
each link's stats and its outside comments, revoking refuses the next request, bad input is a
400 naming the field, another project's version is a 404, and a trace reports the recipient
with its confidence."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from audio import storage
from audio.jobs import runner
from reviewlinks import services
from reviewlinks.models import ReviewLink
from tests.delivery.helpers import mastered_song

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _fresh_limits() -> Any:
    cache.clear()
    yield
    cache.clear()


def _master(s: Any, seconds: float = 12.0) -> Any:
    return mastered_song(s, "Night Drive", seconds=seconds, seed=8).masters.get()


@pytest.mark.django_db
def test_send_list_detail_and_revoke(scenario: Any) -> None:
    api = scenario.client("engineer")
    master = _master(scenario)
    r = api.post(
        "/api/review-links/",
        {"master": master.pk, "recipient_name": "Ana", "recipient_email": "ana@label.test"},
        format="json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    token = body["url"].split("/r/#", 1)[1]
    assert body["state"] == "preparing" and body["version_label"] == "Master 1"
    link = ReviewLink.objects.get(pk=body["id"])
    assert runner.run_job(link.job_id) == "done"
    services.access_record(link=link, kind="opened")
    services.access_record(link=link, kind="play", position_s=0.0)
    services.access_record(link=link, kind="progress", position_s=8.0)
    services.comment_add(link=services.link_for_token(token), body="Nice", start_s=3.0)
    rows = api.get(f"/api/review-links/?project={scenario.project.pk}").json()["results"]
    assert [row["id"] for row in rows] == [link.pk]
    assert "url" not in rows[0] and token not in str(rows)
    stats = rows[0]["stats"]
    assert stats["plays"] == 1 and stats["furthest_s"] == 8.0 and stats["comments"] == 1
    assert stats["first_opened"] is not None and rows[0]["state"] == "ready"
    detail = api.get(f"/api/review-links/{link.pk}/").json()
    assert detail["comments"][0]["body"] == "Nice" and detail["comments"][0]["from_outside"]
    r = api.post(f"/api/review-links/{link.pk}/revoke/")
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    holder = Client()
    assert holder.post("/r/open/", {"token": token}).status_code == 404


@pytest.mark.django_db
def test_bad_input_is_a_400_naming_the_field(scenario: Any, other_scenario: Any) -> None:
    api = scenario.client("producer")
    master = _master(scenario, seconds=2.0)
    base = {"recipient_name": "Ana", "recipient_email": "ana@label.test"}
    cases = [
        ({**base}, "version"),
        ({**base, "master": master.pk, "mix": master.mix_id}, "version"),
        ({**base, "master": master.pk, "recipient_email": "nope"}, "recipient_email"),
        ({**base, "master": master.pk, "play_limit": 0}, "play_limit"),
        (
            {
                **base,
                "master": master.pk,
                "expires_at": (timezone.now() - datetime.timedelta(days=1)).isoformat(),
            },
            "expires_at",
        ),
    ]
    for body, field in cases:
        r = api.post("/api/review-links/", body, format="json")
        assert r.status_code == 400, (body, r.content)
        assert field in str(r.json()), (field, r.json())
    foreign = mastered_song(other_scenario, "Theirs", seconds=2.0).masters.get()
    r = api.post("/api/review-links/", {**base, "master": foreign.pk}, format="json")
    assert r.status_code == 404
    assert api.get("/api/review-links/").status_code == 400  # ?project= is required


@pytest.mark.django_db
def test_a_trace_through_the_api_names_the_recipient(scenario: Any) -> None:
    api = scenario.client("producer")
    link, _ = services.link_create(
        actor=scenario.users["producer"],
        master=_master(scenario),
        recipient_name="Ana",
        recipient_email="ana@label.test",
    )
    runner.run_job(link.job_id)
    link.refresh_from_db()
    with storage.asset_path(link.marked_asset) as path, path.open("rb") as fh:
        r = api.post(f"/api/leak-traces/?project={scenario.project.pk}", {"file": fh})
    assert r.status_code == 202, r.content
    assert r.json()["found"] is None
    assert runner.run_job(r.json()["job"]) == "done"
    trace = api.get(f"/api/leak-traces/{r.json()['id']}/").json()
    assert trace["found"] is True and trace["link"] == link.pk and trace["confidence"] > 0
    assert trace["recipient"]["name"] == "Ana"
    assert trace["recipient"]["link_created_by"] == "producer"
    r = api.post(f"/api/leak-traces/?project={scenario.project.pk}", {})
    assert r.status_code == 400
