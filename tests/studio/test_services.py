"""Business rules of the core services: stage moves, splits, members, tasks, credits, events."""

from decimal import Decimal

import pytest

from audio.models import Mix
from eventlog.models import Event
from studio.errors import Conflict, Forbidden, GateRefused, Invalid, NotFound, SplitTotalInvalid
from studio.models import Membership, Song, Split, StageChange, Task
from studio.roles import CAPABILITIES, Capability, Role, role_can
from studio.services import credits, projects, rights, songs, tasks

pytestmark = pytest.mark.django_db


def events(project, *, after=0):
    return list(Event.objects.filter(project=project, seq__gt=after).values_list("seq", "type"))


# --- roles ---------------------------------------------------------------------------------
def test_every_capability_has_a_role_list_and_producers_hold_all():
    assert set(CAPABILITIES) == set(Capability.values)
    assert all(role_can(Role.PRODUCER, cap) for cap in Capability.values)
    assert [cap for cap in Capability.values if role_can(Role.VIEWER, cap)] == [Capability.VIEW]
    assert not role_can(None, Capability.VIEW)


@pytest.mark.parametrize("role", ["engineer", "artist", "viewer", "outsider"])
def test_only_producers_create_songs(scenario, role):
    expected = NotFound if role == "outsider" else Forbidden
    with pytest.raises(expected):
        songs.song_create(actor=scenario.users[role], project=scenario.project, title="X")
    assert not Song.objects.filter(title="X").exists()


# --- stage moves --------------------------------------------------------------------------
def test_move_forward_records_history_and_event(scenario, song):
    producer = scenario.users["producer"]
    before = scenario.project.last_event_seq + 1  # song.created already recorded
    songs.song_move_stage(actor=producer, song=song, to="recording", reason="demo done")
    song.refresh_from_db()
    assert song.stage == "recording"
    change = StageChange.objects.get(song=song)
    assert (change.from_stage, change.to_stage, change.actor, change.reason) == (
        "pre_production",
        "recording",
        producer,
        "demo done",
    )
    assert events(scenario.project, after=before)[-1][1] == "song.stage_changed"


def test_move_into_mastering_refused_without_approved_mix(scenario, song):
    producer = scenario.users["producer"]
    for stage in ("recording", "editing", "mixing"):
        songs.song_move_stage(actor=producer, song=song, to=stage)
    last = Event.objects.filter(project=scenario.project).count()
    with pytest.raises(GateRefused) as refused:
        songs.song_move_stage(actor=producer, song=song, to="mastering")
    assert refused.value.reasons == ["no approved mix yet"]
    song.refresh_from_db()
    assert song.stage == "mixing"
    assert Event.objects.filter(project=scenario.project).count() == last


def test_move_into_mastering_passes_with_an_approved_mix(scenario, song):
    producer = scenario.users["producer"]
    songs.song_move_stage(actor=producer, song=song, to="mixing")
    Mix.objects.create(project=scenario.project, song=song, number=1, is_approved=True)
    songs.song_move_stage(actor=producer, song=song, to="mastering")
    song.refresh_from_db()
    assert song.stage == "mastering"


def test_moving_back_needs_a_reason(scenario, song):
    producer = scenario.users["producer"]
    songs.song_move_stage(actor=producer, song=song, to="editing")
    with pytest.raises(Invalid, match="needs a reason"):
        songs.song_move_stage(actor=producer, song=song, to="recording", reason="  ")
    songs.song_move_stage(actor=producer, song=song, to="pre_production", reason="rewrite")
    song.refresh_from_db()
    assert song.stage == "pre_production"


def test_unknown_stage_and_same_stage(scenario, song):
    producer = scenario.users["producer"]
    with pytest.raises(Invalid, match="unknown stage"):
        songs.song_move_stage(actor=producer, song=song, to="karaoke")
    with pytest.raises(GateRefused, match="already in"):
        songs.song_move_stage(actor=producer, song=song, to="pre_production")


@pytest.mark.parametrize("role", ["engineer", "artist", "viewer"])
def test_only_producers_move_songs(scenario, song, role):
    with pytest.raises(Forbidden):
        songs.song_move_stage(actor=scenario.users[role], song=song, to="recording")


def test_delivery_gate_reads_splits_samples_and_credits(scenario, song):
    producer = scenario.users["producer"]
    songs.song_move_stage(actor=producer, song=song, to="mixing")
    mix = Mix.objects.create(project=scenario.project, song=song, number=1, is_approved=True)
    songs.song_move_stage(actor=producer, song=song, to="mastering")
    with pytest.raises(GateRefused) as refused:
        songs.song_move_stage(actor=producer, song=song, to="delivered")
    assert "no approved master yet" in refused.value.reasons
    assert "no composer credited" in refused.value.reasons
    from audio.models import Master

    Master.objects.create(project=scenario.project, song=song, mix=mix, number=1, is_approved=True)
    credits.credit_add(actor=producer, song=song, role="composer", contributor_name="A")
    credits.credit_add(
        actor=producer, song=song, role="performer", contributor_name="B", instrument="bass"
    )
    rights.split_set(
        actor=producer, song=song, right="composition", shares=[{"party": "A", "share": "100"}]
    )
    rights.split_set(
        actor=producer, song=song, right="master", shares=[{"party": "Label", "share": "100.00"}]
    )
    sample = rights.sample_use_add(actor=producer, song=song, source_work="Old", kind="sample")
    with pytest.raises(GateRefused) as refused:
        songs.song_move_stage(actor=producer, song=song, to="delivered")
    assert refused.value.reasons == ["1 sample use pending or denied clearance"]
    rights.sample_use_update(actor=producer, sample_use=sample, clearance="cleared")
    songs.song_move_stage(actor=producer, song=song, to="delivered")


# --- splits -------------------------------------------------------------------------------
def test_splits_must_total_exactly_100(scenario, song):
    producer = scenario.users["producer"]
    with pytest.raises(SplitTotalInvalid, match=r"total 99\.99"):
        rights.split_set(
            actor=producer,
            song=song,
            right="composition",
            shares=[{"party": "A", "share": "50"}, {"party": "B", "share": "49.99"}],
        )
    assert not Split.objects.exists()
    rights.split_set(
        actor=producer,
        song=song,
        right="composition",
        shares=[
            {"party": "A", "share": "33.34"},
            {"party": "B", "share": "33.33"},
            {"party": "C", "share": "33.33"},
        ],
    )
    assert Split.objects.filter(song=song).count() == 3


def test_split_set_replaces_the_whole_set(scenario, song):
    producer = scenario.users["producer"]
    rights.split_set(
        actor=producer,
        song=song,
        right="master",
        shares=[{"party": "A", "share": "50"}, {"party": "B", "share": "50"}],
    )
    rights.split_set(
        actor=producer, song=song, right="master", shares=[{"party": "C", "share": "100"}]
    )
    assert list(Split.objects.filter(song=song).values_list("party", "share")) == [
        ("C", Decimal("100.00"))
    ]
    rights.split_set(actor=producer, song=song, right="master", shares=[])
    assert not Split.objects.filter(song=song).exists()


@pytest.mark.parametrize(
    ("share", "message"),
    [
        ("-10", "more than 0"),
        ("0", "more than 0"),
        ("33.333", "2 decimal places"),
        ("abc", "not a number"),
        ("NaN", "not a number"),
        ("101", "over 100"),
        (None, "not a number"),
    ],
)
def test_bad_shares_are_refused(scenario, song, share, message):
    with pytest.raises(Invalid, match=message):
        rights.split_set(
            actor=scenario.users["producer"],
            song=song,
            right="composition",
            shares=[{"party": "A", "share": share}],
        )


def test_split_parties_named_once_and_rights_known(scenario, song):
    producer = scenario.users["producer"]
    with pytest.raises(Invalid, match="twice"):
        rights.split_set(
            actor=producer,
            song=song,
            right="master",
            shares=[{"party": "A", "share": "50"}, {"party": "a", "share": "50"}],
        )
    with pytest.raises(Invalid, match="empty"):
        rights.split_set(
            actor=producer, song=song, right="master", shares=[{"party": " ", "share": "100"}]
        )
    with pytest.raises(Invalid, match="unknown right"):
        rights.split_set(actor=producer, song=song, right="sync", shares=[])
    rights.split_set(
        actor=producer, song=song, right="master", shares=[{"party": "Ava", "share": "100"}]
    )
    with pytest.raises(Invalid, match="too long"):  # bulk_create sends no pre_save: checked first
        rights.split_set(
            actor=producer, song=song, right="master", shares=[{"party": "x" * 201, "share": "100"}]
        )
    assert list(song.splits.values_list("party", flat=True)) == ["Ava"]  # nothing lost


def test_engineers_may_not_edit_rights(scenario, song):
    with pytest.raises(Forbidden):
        rights.split_set(actor=scenario.users["engineer"], song=song, right="master", shares=[])


# --- members ------------------------------------------------------------------------------
def test_project_creator_becomes_producer_with_events(db):
    from tests.factories import UserFactory

    user = UserFactory()
    project = projects.project_create(actor=user, name="LP")
    assert Membership.objects.get(project=project, user=user).role == "producer"
    assert events(project) == [(1, "project.created"), (2, "member.added")]


def test_project_keeps_one_producer(scenario):
    producer = scenario.users["producer"]
    mine = Membership.objects.get(project=scenario.project, user=producer)
    with pytest.raises(Conflict, match="at least one producer"):
        projects.member_set_role(actor=producer, membership=mine, role="viewer")
    with pytest.raises(Conflict, match="at least one producer"):
        projects.member_remove(actor=producer, membership=mine)
    engineer = Membership.objects.get(project=scenario.project, user=scenario.users["engineer"])
    projects.member_set_role(actor=producer, membership=engineer, role="producer")
    projects.member_set_role(actor=producer, membership=mine, role="artist")
    mine.refresh_from_db()
    assert mine.role == "artist"


def test_member_add_rules(scenario):
    producer = scenario.users["producer"]
    with pytest.raises(Invalid, match="no user named"):
        projects.member_add(
            actor=producer, project=scenario.project, username="ghost", role="artist"
        )
    with pytest.raises(Conflict, match="already a member"):
        projects.member_add(
            actor=producer, project=scenario.project, username="artist", role="artist"
        )
    with pytest.raises(Invalid, match="unknown role"):
        projects.member_add(
            actor=producer, project=scenario.project, username="outsider", role="boss"
        )
    with pytest.raises(Forbidden):
        projects.member_add(
            actor=scenario.users["engineer"],
            project=scenario.project,
            username="outsider",
            role="viewer",
        )
    projects.member_add(
        actor=producer, project=scenario.project, username="outsider", role="viewer"
    )


# --- tasks --------------------------------------------------------------------------------
def column(project, status):
    return list(
        Task.objects.filter(project=project, status=status)
        .order_by("rank")
        .values_list("title", "rank")
    )


def test_task_ranks_stay_dense_through_moves_and_deletes(scenario, song):
    producer = scenario.users["producer"]
    a, b, c = (tasks.task_create(actor=producer, song=song, title=t) for t in "abc")
    assert column(scenario.project, "todo") == [("a", 0), ("b", 1), ("c", 2)]
    tasks.task_move(actor=producer, task=c, status="todo", rank=0)
    assert column(scenario.project, "todo") == [("c", 0), ("a", 1), ("b", 2)]
    tasks.task_move(actor=scenario.users["artist"], task=a, status="doing")
    assert column(scenario.project, "todo") == [("c", 0), ("b", 1)]
    assert column(scenario.project, "doing") == [("a", 0)]
    tasks.task_move(actor=producer, task=b, status="doing", rank=99)
    assert column(scenario.project, "doing") == [("a", 0), ("b", 1)]
    tasks.task_delete(actor=producer, task=a)
    assert column(scenario.project, "doing") == [("b", 0)]
    event = Event.objects.filter(project=scenario.project).last()
    assert event.type == "task.deleted"
    assert event.payload["columns"] == {"doing": [b.pk]}


def test_task_assignee_must_be_a_member(scenario, song, other_scenario):
    with pytest.raises(Invalid, match="must be a member"):
        tasks.task_create(
            actor=scenario.users["producer"],
            song=song,
            title="t",
            assignee=other_scenario.users["producer"],
        )


def test_viewers_cannot_move_tasks_and_artists_cannot_create_them(scenario, song):
    task = tasks.task_create(actor=scenario.users["producer"], song=song, title="t")
    with pytest.raises(Forbidden):
        tasks.task_move(actor=scenario.users["viewer"], task=task, status="done")
    with pytest.raises(Forbidden):
        tasks.task_create(actor=scenario.users["artist"], song=song, title="x")


def test_task_status_and_stage_are_checked(scenario, song):
    producer = scenario.users["producer"]
    task = tasks.task_create(actor=producer, song=song, title="t")
    with pytest.raises(Invalid, match="unknown status"):
        tasks.task_move(actor=producer, task=task, status="blocked")
    with pytest.raises(Invalid, match="unknown stage"):
        tasks.task_update(actor=producer, task=task, stage="karaoke")
    with pytest.raises(Invalid, match="rank"):
        tasks.task_move(actor=producer, task=task, status="todo", rank=-1)


# --- credits ------------------------------------------------------------------------------
def test_credit_rules(scenario, song):
    producer = scenario.users["producer"]
    with pytest.raises(Invalid, match="instrument"):
        credits.credit_add(actor=producer, song=song, role="performer", contributor_name="B")
    with pytest.raises(Invalid, match="IPI"):
        credits.credit_add(
            actor=producer, song=song, role="composer", contributor_name="A", ipi="12ab"
        )
    with pytest.raises(Invalid, match="ISNI"):
        credits.credit_add(
            actor=producer, song=song, role="composer", contributor_name="A", isni="123"
        )
    with pytest.raises(Invalid, match="role"):
        credits.credit_add(actor=producer, song=song, role="dj", contributor_name="A")
    credit = credits.credit_add(
        actor=producer,
        song=song,
        role="composer",
        contributor_name="A",
        isni="0000 0001 2345 678X",
        ipi="123456789",
    )
    assert credit.isni == "000000012345678X"
    credits.credit_update(
        actor=scenario.users["engineer"], credit=credit, contributor_name="A. Person"
    )
    with pytest.raises(Forbidden):
        credits.credit_remove(actor=scenario.users["artist"], credit=credit)
    credits.credit_remove(actor=producer, credit=credit)
