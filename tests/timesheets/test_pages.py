"""The time page (the table per song and stage, the log form, my entries, CSV exports) and the
over-budget card at the top of the project dashboard (issue 16, Time)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.timesheets import helpers as h
from timesheets.exports import safe_cell
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db


def _post(client, path, data):
    return client.post(path, data, HTTP_HX_REQUEST="true")


def test_time_page_logs_edits_and_deletes(scenario):
    s = h.song(scenario)
    t = h.task(scenario, s, "recording", 60, "Track drums")
    ws = h.session(scenario, s, "overdub")
    pid = scenario.project.pk
    artist = scenario.browser("artist")
    page = artist.get(f"/p/{pid}/time/").content.decode()
    assert "Planned against spent" in page and 'name="against"' in page
    for live in ("studio:time-logged", "studio:task-updated", "studio:section-updated"):
        assert live in page  # the regions refetch on the time, estimate and section events
    assert f'href="/p/{pid}/time/"' in artist.get(f"/p/{pid}/").content.decode()
    r = _post(artist, f"/p/{pid}/time/log/", {"against": f"task:{t.pk}", "minutes": "1:30"})
    assert r.status_code == 200 and "1 h 30 min" in r.content.decode()
    _post(artist, f"/p/{pid}/time/log/", {"against": f"session:{ws.pk}", "minutes": "20"})
    assert sorted(TimeEntry.objects.values_list("minutes", "stage")) == [
        (20, "recording"),
        (90, "recording"),
    ]
    for bad, words in (("0", "at least one minute"), ("2000", "a day"), ("lots", "1:30")):
        r = _post(artist, f"/p/{pid}/time/log/", {"against": f"task:{t.pk}", "minutes": bad})
        assert r.status_code == 200 and words in r.content.decode(), bad
        assert r["HX-Retarget"] == "#time-form-error"
    r = _post(artist, f"/p/{pid}/time/log/", {"against": "task:999999", "minutes": "5"})
    assert "choose a task" in r.content.decode()
    entry = TimeEntry.objects.get(minutes=90)
    _post(artist, f"/time-entries/{entry.pk}/edit/", {"minutes": "100", "note": "with clicks"})
    entry.refresh_from_db()
    assert (entry.minutes, entry.note) == (100, "with clicks")
    summary = artist.get(f"/p/{pid}/time/?part=summary", HTTP_HX_REQUEST="true").content
    assert b'data-over="60"' in summary  # 120 spent against 60 planned
    r = _post(scenario.browser("producer"), f"/time-entries/{entry.pk}/edit/", {"minutes": "5"})
    assert r.status_code == 403
    assert (
        _post(scenario.browser("producer"), f"/time-entries/{entry.pk}/delete/", {}).status_code
        == 200
    )
    assert TimeEntry.objects.count() == 1
    viewer = scenario.browser("viewer").get(f"/p/{pid}/time/").content.decode()
    assert 'name="against"' not in viewer  # viewers read
    r = _post(
        scenario.browser("viewer"),
        f"/p/{pid}/time/log/",
        {"against": f"task:{t.pk}", "minutes": "5"},
    )
    assert r.status_code == 403


def test_dashboard_lists_songs_over_budget_first(scenario):
    small, big, fine = h.song(scenario, "Small"), h.song(scenario, "Big"), h.song(scenario, "Fine")
    for song, planned, spent in ((small, 60, 70), (big, 60, 200), (fine, 60, 30)):
        t = h.task(scenario, song, "recording", planned)
        h.log(scenario, "engineer", song, spent, task=t)
    page = scenario.browser("viewer").get(f"/p/{scenario.project.pk}/").content.decode()
    card = page[page.index('id="over-budget"') :]
    card = card[: card.index("</section>")]
    assert card.index("Big") < card.index("Small") and "Fine" not in card
    assert "2 h 20 min over" in card
    fragment = scenario.browser("viewer").get(f"/p/{scenario.project.pk}/time/over-budget/")
    assert b"studio:time-logged" in fragment.content


def test_csv_exports_are_named_after_the_project_and_quote_formulas(scenario):
    s = h.song(scenario, "=Evil()")
    t = h.task(scenario, s, "mixing", 30)
    h.log(scenario, "engineer", s, 45, task=t, note="@SUM(A1) -2 +x")
    h.log(scenario, "artist", s, 10, task=t, note="plain")
    client = scenario.browser("viewer")
    r = client.get(f"/p/{scenario.project.pk}/time/entries.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    assert 'filename="night-drive-ep-time-entries.csv"' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["minutes"] for row in rows] == ["45", "10"]
    assert rows[0]["note"] == "'@SUM(A1) -2 +x" and rows[1]["note"] == "plain"
    assert rows[0]["song"] == "'=Evil()" and rows[0]["stage"] == "Mixing"
    r = client.get(f"/p/{scenario.project.pk}/time/summary.csv")
    assert 'filename="night-drive-ep-time-summary.csv"' in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    mixing = next(row for row in rows if row["stage"] == "Mixing")
    assert (mixing["planned_min"], mixing["spent_min"], mixing["spent_minus_planned_min"]) == (
        "30",
        "55",
        "25",
    )
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@a", "\tx", "ok", 5)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@a",
        "'\tx",
        "ok",
        5,
    ]
    assert (
        scenario.browser("outsider").get(f"/p/{scenario.project.pk}/time/entries.csv").status_code
        == 404
    )
