"""The song sheet's rules, through the real services on PostgreSQL."""

from __future__ import annotations

import pytest

from eventlog.models import Event
from songsheet import services
from songsheet.models import Influence, Section
from songsheet.selectors import sheet_read
from studio.errors import Conflict, Forbidden, GateRefused, Invalid
from studio.gates import song_can_enter_stage
from studio.models import SampleUse
from studio.selectors import song_facts
from studio.services.projects import project_update
from studio.services.songs import song_archive, song_create, song_move_stage
from tests.songsheet.helpers import session_of, written_song

pytestmark = pytest.mark.django_db


def _names(song):
    return list(
        Section.objects.filter(song=song).order_by("position").values_list("name", "position")
    )


def test_sections_are_in_order_and_timed_from_tempo_signature_and_bars(scenario):
    song = written_song(scenario)
    read = sheet_read(song)
    assert [(t.section.name, t.time.start_bar, t.time.start_s) for t in read.sections] == [
        ("intro", 1, 0.0),
        ("verse", 5, 8.0),
        ("chorus", 13, 24.0),
    ]
    assert not read.regions_ready  # no first downbeat yet
    services.sheet_update(
        actor=scenario.users["artist"],
        song=song,
        data={"time_signature": "6/8", "first_downbeat_s": "0,5"},
    )
    read = sheet_read(song)
    assert [t.time.start_s for t in read.sections] == [0.5, 6.5, 18.5]  # 1.5 s a bar at 120
    assert read.regions_ready
    assert read.regions()[2] == {"id": read.sections[2].section.pk, "name": "chorus",
                                 "start_s": 18.5, "end_s": 30.5}  # fmt: skip


def test_key_and_tempo_are_the_songs_set_through_the_sheet(scenario):
    song = written_song(scenario, tempo=None)
    assert [t.time.start_s for t in sheet_read(song).sections] == [None, None, None]
    services.sheet_update(
        actor=scenario.users["artist"], song=song, data={"key": "D minor", "tempo_bpm": "96"}
    )
    song.refresh_from_db()
    assert (song.key, str(song.tempo_bpm)) == ("D minor", "96.00")
    assert Event.objects.filter(project=scenario.project, type="song.updated").exists()
    assert sheet_read(song).sections[1].time.start_s == 10.0  # 4 bars of 2.5 s
    with pytest.raises(Invalid) as bad:
        services.sheet_update(actor=scenario.users["producer"], song=song, data={"tempo_bpm": "0"})
    assert "tempo" in bad.value.detail


def test_reorder_moves_a_section_and_keeps_the_order_dense(scenario):
    song = written_song(scenario)
    chorus = Section.objects.get(song=song, name="chorus")
    services.section_move(actor=scenario.users["artist"], section=chorus, position=1)
    assert _names(song) == [("chorus", 1), ("intro", 2), ("verse", 3)]
    services.section_move(actor=scenario.users["artist"], section=chorus, position=99)
    assert _names(song) == [("intro", 1), ("verse", 2), ("chorus", 3)]
    bridge = services.section_add(
        actor=scenario.users["producer"],
        song=song,
        data={"name": "bridge", "bars": 4, "position": 2},
    )
    assert bridge.position == 2
    assert _names(song) == [("intro", 1), ("bridge", 2), ("verse", 3), ("chorus", 4)]
    services.section_remove(actor=scenario.users["producer"], section=bridge)
    assert _names(song) == [("intro", 1), ("verse", 2), ("chorus", 3)]
    reordered = Event.objects.filter(type="sections.reordered").order_by("seq").last()
    assert [s["name"] for s in reordered.payload["sections"]] == [
        "intro",
        "bridge",
        "verse",
        "chorus",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "verse", "bars": 0}, "bars"),
        ({"name": "verse", "bars": -4}, "bars"),
        ({"name": "verse", "bars": "eight"}, "bars"),
        ({"name": "verse", "bars": 2.5}, "bars"),
        ({"name": "", "bars": 4}, "name"),
        ({"name": "verse", "bars": 4, "lyrics": "la " * 7000}, "lyrics"),
        ({"name": "verse", "bars": 4, "estimate_minutes": -5}, "estimate_minutes"),
    ],
)
def test_bad_sections_are_refused_with_a_sentence(scenario, song, data, field):
    with pytest.raises(Invalid) as bad:
        services.section_add(actor=scenario.users["producer"], song=song, data=data)
    assert field in bad.value.fields
    assert bad.value.detail.startswith("the section:")
    assert not Section.objects.filter(song=song).exists()


def test_lyrics_up_to_the_cap_and_an_estimate_are_kept(scenario, song):
    section = services.section_add(
        actor=scenario.users["artist"],
        song=song,
        data={"name": "verse", "bars": 16, "lyrics": "x" * 20_000, "estimate_minutes": 90},
    )
    assert len(section.lyrics) == 20_000 and section.estimate_minutes == 90
    section = services.section_update(
        actor=scenario.users["artist"], section=section, data={"estimate_minutes": None}
    )
    assert section.estimate_minutes is None


def test_an_unknown_time_signature_is_refused(scenario, song):
    with pytest.raises(Invalid) as bad:
        services.sheet_update(
            actor=scenario.users["producer"], song=song, data={"time_signature": "4/5"}
        )
    assert "time_signature" in bad.value.fields
    services.sheet_update(
        actor=scenario.users["producer"], song=song, data={"time_signature": "7/8"}
    )
    assert sheet_read(song).sheet.time_signature == "7/8"


def test_engineers_and_viewers_read_but_do_not_write_and_archived_songs_refuse(scenario, song):
    for who in ("engineer", "viewer"):
        with pytest.raises(Forbidden):
            services.section_add(
                actor=scenario.users[who], song=song, data={"name": "v", "bars": 4}
            )
    song_archive(actor=scenario.users["producer"], song=song)
    with pytest.raises(Conflict) as archived:
        services.section_add(
            actor=scenario.users["artist"], song=song, data={"name": "v", "bars": 4}
        )
    assert "This song is archived" in archived.value.detail


def test_the_palette_names_a_member_or_a_name_and_a_session_of_the_same_song(
    scenario, other_scenario, song
):
    session = session_of(scenario, song)
    item = services.palette_add(
        actor=scenario.users["artist"],
        song=song,
        data={"name": "Rhodes", "source": "live", "player": scenario.users["engineer"].pk,
              "session": session.pk},
    )  # fmt: skip
    assert (item.player, item.session, item.status) == (
        scenario.users["engineer"], session, "planned"
    )  # fmt: skip
    item = services.palette_update(
        actor=scenario.users["producer"], item=item, data={"status": "tracked", "player": None,
                                                           "player_name": "Guest keys"}
    )  # fmt: skip
    assert (item.status, item.player, item.player_name) == ("tracked", None, "Guest keys")
    other_song = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    with pytest.raises(Invalid) as foreign:
        services.palette_add(
            actor=scenario.users["producer"], song=song,
            data={"name": "Pad", "session": session_of(scenario, other_song).pk},
        )  # fmt: skip
    assert "session" in foreign.value.fields
    with pytest.raises(Invalid) as stranger:
        services.palette_add(
            actor=scenario.users["producer"], song=song,
            data={"name": "Pad", "player": scenario.users["outsider"].pk},
        )  # fmt: skip
    assert "player" in stranger.value.fields
    with pytest.raises(Invalid):
        services.palette_add(
            actor=scenario.users["producer"], song=song, data={"name": "Pad", "status": "lost"}
        )


def test_an_influence_beyond_feel_asks_for_clearance_and_feeds_the_delivery_gate(scenario, song):
    feel = services.influence_add(
        actor=scenario.users["artist"], song=song,
        data={"work": "Teardrop", "artist": "Massive Attack", "taken": ["feel"]},
    )  # fmt: skip
    assert services.clearance_prompt(feel) is None
    with pytest.raises(Invalid):
        services.influence_record_sample(actor=scenario.users["producer"], influence=feel)
    melody = services.influence_add(
        actor=scenario.users["artist"], song=song,
        data={"work": "Blue Monday", "artist": "New Order", "taken": ["melody", "feel"]},
    )  # fmt: skip
    assert melody.taken == ["feel", "melody"]
    prompt = services.clearance_prompt(melody)
    assert prompt and "melody" in prompt and "clearance" in prompt
    assert (
        song_can_enter_stage(song_facts(song), "delivered").count(
            "1 sample use pending or denied clearance"
        )
        == 0
    )
    # Artists write the sheet but only producers record rights.
    with pytest.raises(Forbidden):
        services.influence_record_sample(actor=scenario.users["artist"], influence=melody)
    sample = services.influence_record_sample(
        actor=scenario.users["producer"], influence=melody, kind="interpolation",
        clearance="pending", rights_holder="Warner Chappell",
    )  # fmt: skip
    assert SampleUse.objects.get(pk=sample.pk).source_work == "Blue Monday by New Order"
    assert Influence.objects.get(pk=melody.pk).sample_use_id == sample.pk
    melody.refresh_from_db()
    assert services.clearance_prompt(melody) is None
    with pytest.raises(Conflict):
        services.influence_record_sample(actor=scenario.users["producer"], influence=melody)
    assert "1 sample use pending or denied clearance" in song_can_enter_stage(
        song_facts(song), "delivered"
    )
    # The move itself is refused, and the refusal names the sample use.
    song.stage = "mastering"
    song.save(update_fields=["stage"])
    with pytest.raises(GateRefused) as refused:
        song_move_stage(actor=scenario.users["producer"], song=song, to="delivered")
    assert "1 sample use pending or denied clearance" in refused.value.reasons
    with pytest.raises(Invalid):
        services.influence_add(
            actor=scenario.users["artist"], song=song, data={"work": "X", "taken": ["vibe"]}
        )


def test_the_sections_written_gate_check_holds_moves_out_of_pre_production(scenario, song):
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")  # not chosen
    song_move_stage(
        actor=scenario.users["producer"], song=song, to="pre_production", reason="rewrite"
    )
    project_update(
        actor=scenario.users["producer"], project=scenario.project, gate_checks=["sections_written"]
    )
    song.refresh_from_db()
    with pytest.raises(GateRefused) as refused:
        song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    labels = {c["label"]: c["met"] for c in refused.value.fields["checks"]}
    assert labels["arrangement sections written"] is False
    assert refused.value.reasons == ["no arrangement sections written on the song sheet yet"]
    services.section_add(
        actor=scenario.users["artist"], song=song, data={"name": "intro", "bars": 4}
    )
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    song.refresh_from_db()
    assert song.stage == "recording"


def test_every_write_records_its_event(scenario, song):
    p = scenario.users["producer"]
    services.sheet_update(actor=p, song=song, data={"genre": "synth-pop"})
    s = services.section_add(actor=p, song=song, data={"name": "intro", "bars": 4})
    services.section_update(actor=p, section=s, data={"lyrics": "la la"})
    services.section_move(actor=p, section=s, position=1)
    item = services.palette_add(actor=p, song=song, data={"name": "808"})
    services.palette_update(actor=p, item=item, data={"status": "sourced"})
    services.palette_remove(actor=p, item=item)
    i = services.influence_add(actor=p, song=song, data={"work": "W", "taken": ["groove"]})
    services.influence_record_sample(actor=p, influence=i)
    services.influence_remove(actor=p, influence=i)
    services.section_remove(actor=p, section=s)
    types = list(
        Event.objects.filter(project=scenario.project)
        .order_by("seq")
        .values_list("type", flat=True)
    )
    wanted = (
        "sheet.updated section.added section.updated sections.reordered palette.added "
        "palette.updated palette.removed influence.added sample_use.added influence.updated "
        "influence.removed section.removed"
    )
    for t in wanted.split():
        assert t in types
    assert SampleUse.objects.filter(song=song).count() == 1  # the clearance is still owed


def test_every_event_validates_and_reads_as_a_sentence(scenario, song):
    import jsonschema

    from eventlog.schemas import EVENT_SCHEMAS
    from pages.activity import describe

    p = scenario.users["artist"]
    services.sheet_update(actor=p, song=song, data={"vibe": "late night", "first_downbeat_s": 1})
    s = services.section_add(actor=p, song=song, data={"name": "pre-chorus", "bars": 4})
    services.section_add(actor=p, song=song, data={"name": "chorus", "bars": 8, "position": 1})
    services.section_move(actor=p, section=s, position=1)
    item = services.palette_add(actor=p, song=song, data={"name": "Juno pad"})
    services.palette_remove(actor=p, item=item)
    services.influence_add(
        actor=p, song=song, data={"work": "Teardrop", "artist": "Massive Attack", "taken": []}
    )
    events = list(Event.objects.filter(project=scenario.project).order_by("-seq"))
    for event in events:
        jsonschema.validate(event.payload, EVENT_SCHEMAS[event.type])
    told = [a.text for a in describe(events)]
    assert any("wrote the pre-chorus of 'Night Drive'" in t for t in told), told
    assert any("planned Juno pad in the palette of 'Night Drive'" in t for t in told), told
    assert any("'Teardrop' by Massive Attack as an influence on 'Night Drive'" in t for t in told)
    assert any("edited the song sheet of 'Night Drive'" in t for t in told)
    assert not any(a.type == "sections.reordered" for a in describe(events))  # quiet


def test_saving_the_sheet_with_the_same_key_and_tempo_does_not_touch_the_song(scenario):
    song = written_song(scenario)  # 120 BPM
    before = Event.objects.filter(type="song.updated").count()
    services.sheet_update(
        actor=scenario.users["artist"], song=song, data={"key": "", "tempo_bpm": "120"}
    )
    assert Event.objects.filter(type="song.updated").count() == before
    services.sheet_update(
        actor=scenario.users["artist"], song=song, data={"key": "", "tempo_bpm": ""}
    )
    song.refresh_from_db()
    assert song.tempo_bpm is None
    assert Event.objects.filter(type="song.updated").count() == before + 1


def test_the_demo_writes_night_drives_sheet_once(scenario):
    from songsheet.demo import seed_demo_sheet

    song = song_create(
        actor=scenario.users["producer"], project=scenario.project, title="Night Drive",
        tempo_bpm="104",
    )  # fmt: skip
    users = {
        "mia": scenario.users["producer"],
        "ava": scenario.users["artist"],
        "leo": scenario.users["engineer"],
    }
    assert seed_demo_sheet(project=scenario.project, users=users) == song
    seed_demo_sheet(project=scenario.project, users=users)
    read = sheet_read(song)
    assert [t.section.name for t in read.sections] == [
        "intro", "verse", "pre-chorus", "chorus", "outro",
    ]  # fmt: skip
    assert read.regions_ready and read.sections[1].time.start_s == round(4 * 4 * 60 / 104, 3)
    prompts = [services.clearance_prompt(i) for i in Influence.objects.filter(song=song)]
    assert prompts[0] is None and prompts[1] is not None
