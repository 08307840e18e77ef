"""The jobs list filters by any registered kind, including those other apps register."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["deliver", "watermark", "render"])
def test_jobs_filter_by_a_kind_another_app_registers(scenario, kind):
    r = scenario.client("producer").get(f"/api/jobs/?project={scenario.project.pk}&kind={kind}")
    assert r.status_code == 200, r.content
    assert r.json()["results"] == []


def test_an_unknown_kind_is_refused_naming_the_choices(scenario):
    r = scenario.client("producer").get(f"/api/jobs/?project={scenario.project.pk}&kind=bake")
    assert r.status_code == 400
    assert "deliver" in str(r.json())
