"""Time logged against tasks and sessions, summed per stage and song against the estimates of
tasks and sections (issue 16, Time): every rule of timesheets.services and .selectors."""

from __future__ import annotations

import datetime

import jsonschema
import pytest

from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS
from studio.errors import Conflict, Forbidden, Invalid, NotFound
from studio.services.songs import song_archive
from tests.timesheets import helpers as h
from timesheets.models import TimeEntry
from timesheets.selectors import over_budget, project_summary
from timesheets.services import time_delete, time_update

pytestmark = pytest.mark.django_db


def _cells(budget):
    return {s.stage: (s.planned, s.spent) for s in budget.stages if s.planned or s.spent}


def test_estimates_and_logs_are_summed_per_stage_and_song(scenario):
    one, two = h.song(scenario, "One"), h.song(scenario, "Two")
    rec = h.task(scenario, one, "recording", 120, "Track drums")
    h.task(scenario, one, "recording", 60, "Track bass")
    mix = h.task(scenario, one, "mixing", 90, "Mix")
    h.task(scenario, one, "editing", None, "Comp")  # no estimate: plans nothing
    h.section(scenario, one, "Verse", 45)
    h.section(scenario, one, "Chorus", 30)
    h.section(scenario, one, "Outro", None)
    rec_session = h.session(scenario, one, "recording")
    mix_session = h.session(scenario, two, "mix")
    h.log(scenario, "engineer", one, 100, task=rec)
    h.log(scenario, "artist", one, 50, session=rec_session)  # a recording session: recording
    h.log(scenario, "producer", one, 30, task=mix)
    h.log(scenario, "engineer", two, 200, session=mix_session)  # a mix session: mixing
    summary = {b.title: b for b in project_summary(scenario.users["viewer"], scenario.project)}
    assert _cells(summary["One"]) == {"recording": (120 + 60 + 45 + 30, 150), "mixing": (90, 30)}
    rec_cell = summary["One"].stages[1]
    assert (rec_cell.tasks_planned, rec_cell.sections_planned) == (180, 75)
    assert (summary["One"].planned, summary["One"].spent) == (345, 180)
    assert [s["name"] for s in summary["One"].sections] == ["Verse", "Chorus", "Outro"]
    assert _cells(summary["Two"]) == {"mixing": (0, 200)}


def test_over_budget_songs_come_largest_overrun_first(scenario):
    songs = [h.song(scenario, t) for t in ("Within", "A bit over", "Far over", "Unplanned")]
    for s, planned, spent in zip(songs, (100, 100, 60, None), (90, 110, 200, 500), strict=True):
        t = h.task(scenario, s, "recording", planned)
        h.log(scenario, "engineer", s, spent, task=t)
    over = over_budget(scenario.users["artist"], scenario.project)
    assert [(b.title, b.over) for b in over] == [("Far over", 140), ("A bit over", 10)]
    assert over[0].over_percent == 233
    assert over_budget(scenario.users["outsider"], scenario.project) == []


def test_stage_defaults_task_then_session_kind_then_song_and_is_kept(scenario):
    from studio.services.songs import song_move_stage

    s = h.song(scenario)
    t = h.task(scenario, s, "editing", 10)
    overdub, listening = h.session(scenario, s, "overdub"), h.session(scenario, s, "listening")
    assert h.log(scenario, "engineer", s, 5, task=t, session=overdub).stage == "editing"
    assert h.log(scenario, "engineer", s, 5, session=overdub).stage == "recording"
    assert h.log(scenario, "engineer", s, 5, session=listening).stage == "pre_production"
    named = h.log(scenario, "engineer", s, 5, session=listening, stage="mastering")
    assert named.stage == "mastering"
    song_move_stage(actor=scenario.users["producer"], song=s, to="recording", override_reason="go")
    entry = h.log(scenario, "engineer", s, 5, session=listening)
    assert entry.stage == "recording"  # the song's stage at logging time ...
    assert TimeEntry.objects.filter(stage="pre_production").count() == 1  # ... earlier ones stay


@pytest.mark.parametrize(
    ("minutes", "words"),
    [(0, "at least one minute"), (-5, "at least one minute"), (24 * 60 + 1, "a day's worth")],
)
def test_minutes_must_be_more_than_zero_and_at_most_a_day(scenario, minutes, words):
    s = h.song(scenario)
    t = h.task(scenario, s, "recording", 10)
    with pytest.raises(Invalid, match=words):
        h.log(scenario, "engineer", s, minutes, task=t)
    assert h.log(scenario, "engineer", s, 24 * 60, task=t).minutes == 1440


def test_target_must_be_a_task_or_session_of_the_same_song(scenario, other_scenario):
    s, other = h.song(scenario, "Mine"), h.song(scenario, "Other song")
    with pytest.raises(Invalid, match="task or a working session"):
        h.log(scenario, "engineer", s, 10)
    with pytest.raises(Invalid, match="task belongs to another song"):
        h.log(scenario, "engineer", s, 10, task=h.task(scenario, other, "recording", 5))
    with pytest.raises(Invalid, match="session belongs to another song"):
        h.log(scenario, "engineer", s, 10, session=h.session(scenario, other))
    foreign_song = h.song(other_scenario, "Theirs")
    foreign_task = h.task(other_scenario, foreign_song, "recording", 5)
    with pytest.raises(Invalid, match="another song"):
        h.log(scenario, "engineer", s, 10, task=foreign_task)
    with pytest.raises(Invalid, match="another song"):
        h.log(scenario, "engineer", s, 10, session=h.session(other_scenario, foreign_song))
    with pytest.raises(Invalid, match="not a day to come"):
        t = h.task(scenario, s, "recording", 5)
        h.log(scenario, "engineer", s, 10, task=t, spent_on=datetime.date(2999, 1, 1))
    assert TimeEntry.objects.count() == 0


def test_viewers_outsiders_and_archived_songs_write_nothing(scenario):
    s = h.song(scenario)
    t = h.task(scenario, s, "recording", 10)
    with pytest.raises(Forbidden):
        h.log(scenario, "viewer", s, 10, task=t)
    with pytest.raises(NotFound):
        h.log(scenario, "outsider", s, 10, task=t)
    entry = h.log(scenario, "artist", s, 10, task=t)
    song_archive(actor=scenario.users["producer"], song=s)
    with pytest.raises(Conflict, match="archived"):
        h.log(scenario, "artist", s, 10, task=t)
    with pytest.raises(Conflict, match="archived"):
        time_update(actor=scenario.users["artist"], entry=entry, minutes=20)
    with pytest.raises(Conflict, match="archived"):
        time_delete(actor=scenario.users["producer"], entry=entry)


def test_one_edits_ones_own_and_a_producer_deletes_anyones(scenario):
    s = h.song(scenario)
    t = h.task(scenario, s, "recording", 10)
    mix = h.task(scenario, s, "mixing", 10)
    entry = h.log(scenario, "artist", s, 30, task=t, note="guide vocal")
    with pytest.raises(Forbidden, match="your own"):
        time_update(actor=scenario.users["producer"], entry=entry, minutes=5)
    entry = time_update(actor=scenario.users["artist"], entry=entry, minutes=45, task=mix)
    assert (entry.minutes, entry.stage, entry.note) == (45, "mixing", "guide vocal")
    with pytest.raises(Invalid, match="at least one minute"):
        time_update(actor=scenario.users["artist"], entry=entry, minutes=0)
    with pytest.raises(Forbidden, match="only a producer"):
        time_delete(actor=scenario.users["engineer"], entry=entry)
    own = h.log(scenario, "engineer", s, 15, task=t)
    time_delete(actor=scenario.users["engineer"], entry=own)
    time_delete(actor=scenario.users["producer"], entry=entry)
    assert TimeEntry.objects.count() == 0


def test_every_write_records_its_event_which_validates(scenario):
    s = h.song(scenario)
    t = h.task(scenario, s, "recording", 10)
    entry = h.log(scenario, "engineer", s, 30, task=t)
    time_update(actor=scenario.users["engineer"], entry=entry, note="=cmd")
    time_delete(actor=scenario.users["engineer"], entry=entry)
    events = list(Event.objects.filter(type__startswith="time.").order_by("seq"))
    assert [e.type for e in events] == ["time.logged", "time.updated", "time.deleted"]
    for e in events:
        jsonschema.validate(e.payload, EVENT_SCHEMAS[e.type])
        assert e.payload["entry"]["minutes"] == 30
        assert e.actor_id == scenario.users["engineer"].pk


def test_every_time_event_reads_as_a_sentence_in_the_feed(scenario):
    from pages.activity import describe

    s = h.song(scenario, "Night Drive")
    t = h.task(scenario, s, "recording", 10)
    entry = h.log(scenario, "engineer", s, 90, task=t)
    time_update(actor=scenario.users["engineer"], entry=entry, minutes=95)
    time_delete(actor=scenario.users["producer"], entry=entry)
    events = list(Event.objects.filter(type__startswith="time.").order_by("-seq"))
    texts = [a.text for a in describe(events)]
    assert texts == [
        "producer deleted a time entry of 1 h 35 min on 'Night Drive' (recording)",
        "engineer corrected a time entry: 1 h 35 min on 'Night Drive' (recording)",
        "engineer logged 1 h 30 min on 'Night Drive' (recording)",
    ]


def test_the_demo_plans_and_logs_time_with_one_song_over_budget(scenario):
    from timesheets.demo import seed_demo_time

    users = {
        "mia": scenario.users["producer"],
        "ava": scenario.users["artist"],
        "leo": scenario.users["engineer"],
    }
    harbour = h.song(scenario, "Glass Harbour")
    for title in ("Track the lead vocal", "Comp the drum takes"):
        h.task(scenario, harbour, "recording", None, title)
    seed_demo_time(project=scenario.project, users=users)
    over = over_budget(scenario.users["viewer"], scenario.project)
    assert [(b.title, b.planned, b.spent) for b in over] == [("Glass Harbour", 270, 370)]
