"""Review and session rules, by role (sessions.services)."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from sessions import services
from sessions.models import Comment
from studio.errors import Conflict, Forbidden, GateRefused, Invalid, NotFound
from studio.services.projects import member_add
from studio.services.songs import song_move_stage
from tests.factories import UserFactory
from tests.live.conftest import make_master, make_mix, make_take

pytestmark = pytest.mark.django_db


def test_comment_roles(scenario, mix):
    """Artists, engineers and producers comment; viewers read only; outsiders see nothing."""
    for who in ("producer", "engineer", "artist"):
        c = services.comment_add(actor=scenario.users[who], mix=mix, body="hi", start_s=1.0)
        assert c.author == scenario.users[who]
    with pytest.raises(Forbidden):
        services.comment_add(actor=scenario.users["viewer"], mix=mix, body="hi")
    with pytest.raises(NotFound):
        services.comment_add(actor=scenario.users["outsider"], mix=mix, body="hi")


def test_comment_time_past_the_end_is_refused(scenario, mix):
    """A time past the end of the version's audio is a 400 that says so."""
    artist = scenario.users["artist"]
    with pytest.raises(Invalid) as err:
        services.comment_add(actor=artist, mix=mix, body="late", start_s=181.0)
    assert err.value.code == "time_out_of_range"
    assert "past the end" in err.value.detail
    with pytest.raises(Invalid):
        services.comment_add(actor=artist, mix=mix, body="range", start_s=10, end_s=200)
    with pytest.raises(Invalid):
        services.comment_add(actor=artist, mix=mix, body="backwards", start_s=10, end_s=5)
    with pytest.raises(Invalid):
        services.comment_add(actor=artist, mix=mix, body="no start", end_s=5)
    ok = services.comment_add(actor=artist, mix=mix, body="range", start_s=10, end_s=180)
    assert (ok.start_s, ok.end_s) == (10, 180)


def test_reply_threads_and_other_version_refused(scenario, song, mix):
    other = make_mix(song)
    artist, producer = scenario.users["artist"], scenario.users["producer"]
    root = services.comment_add(actor=artist, mix=mix, body="snare too loud", start_s=42)
    reply = services.comment_add(actor=producer, mix=mix, body="agreed", parent=root)
    deeper = services.comment_add(actor=artist, mix=mix, body="thanks", parent=reply)
    assert reply.parent == root and deeper.parent == root  # one level deep
    with pytest.raises(Invalid) as err:
        services.comment_add(actor=artist, mix=other, body="x", parent=root)
    assert err.value.code == "reply_other_version"


def test_version_required_exactly_once(scenario, mix):
    master = make_master(mix)
    with pytest.raises(Invalid):
        services.comment_add(actor=scenario.users["artist"], body="x")
    with pytest.raises(Invalid):
        services.comment_add(actor=scenario.users["artist"], mix=mix, master=master, body="x")
    c = services.comment_add(actor=scenario.users["engineer"], master=master, body="ok", start_s=1)
    assert c.master == master and c.mix is None


def test_edit_and_delete_by_author_only(scenario, mix):
    artist, producer = scenario.users["artist"], scenario.users["producer"]
    c = services.comment_add(actor=artist, mix=mix, body="first")
    with pytest.raises(Forbidden):
        services.comment_edit(actor=producer, comment=c, body="mine now")
    with pytest.raises(Forbidden):
        services.comment_delete(actor=producer, comment=c)
    services.comment_edit(actor=artist, comment=c, body="second")
    c.refresh_from_db()
    assert c.body == "second" and c.edited_at is not None
    services.comment_delete(actor=artist, comment=c)
    c.refresh_from_db()
    assert c.deleted_at is not None
    with pytest.raises(Conflict):
        services.comment_edit(actor=artist, comment=c, body="again")


def test_resolve_and_reopen(scenario, mix):
    artist, engineer = scenario.users["artist"], scenario.users["engineer"]
    c = services.comment_add(actor=artist, mix=mix, body="fix the fade", start_s=170)
    services.comment_resolve(actor=engineer, comment=c)
    c.refresh_from_db()
    assert c.resolved_by == engineer and c.resolved_at is not None
    with pytest.raises(Conflict):
        services.comment_resolve(actor=engineer, comment=c)
    services.comment_reopen(actor=artist, comment=c)
    c.refresh_from_db()
    assert c.resolved_at is None
    with pytest.raises(Forbidden):
        services.comment_resolve(actor=scenario.users["viewer"], comment=c)
    reply = services.comment_add(actor=engineer, mix=mix, body="done", parent=c)
    with pytest.raises(Invalid):
        services.comment_resolve(actor=engineer, comment=reply)


def test_mentions_of_members_only(scenario, mix):
    artist = scenario.users["artist"]
    c = services.comment_add(
        actor=artist, mix=mix, body="@engineer and @producer, mail me at a@b.test", start_s=3
    )
    assert set(c.mentions.values_list("username", flat=True)) == {"engineer", "producer"}
    with pytest.raises(Invalid, match="No one called @nobody is a member of this project"):
        services.comment_add(actor=artist, mix=mix, body="@engineer and @nobody", start_s=3)
    outsider = scenario.users["outsider"]
    with pytest.raises(Invalid):
        services.comment_add(actor=artist, mix=mix, body="hey", mentions=[outsider.pk])
    c2 = services.comment_add(
        actor=artist, mix=mix, body="hey", mentions=[scenario.users["viewer"].pk]
    )
    assert list(c2.mentions.all()) == [scenario.users["viewer"]]


def test_approval_rule_feeds_the_mastering_gate(scenario, song, mix):
    """Approved = one producer approved, every artist approved, nobody's latest verdict on the
    version is changes_requested. Then the song may enter mastering."""
    producer, artist = scenario.users["producer"], scenario.users["artist"]
    second_artist = UserFactory(username="artist2")
    member_add(actor=producer, project=scenario.project, username="artist2", role="artist")
    song_move_stage(actor=producer, song=song, to="mixing")

    services.approval_give(actor=producer, mix=mix, verdict="approved")
    services.approval_give(actor=artist, mix=mix, verdict="approved")
    mix.refresh_from_db()
    assert not mix.is_approved  # artist2 has not approved
    services.approval_give(actor=second_artist, mix=mix, verdict="changes_requested", note="bass")
    mix.refresh_from_db()
    assert not mix.is_approved
    with pytest.raises(GateRefused):
        song_move_stage(actor=producer, song=song, to="mastering")
    services.approval_give(actor=second_artist, mix=mix, verdict="approved")
    mix.refresh_from_db()
    assert mix.is_approved
    song_move_stage(actor=producer, song=song, to="mastering")

    # A later "changes requested" takes the approval away again.
    services.approval_give(actor=artist, mix=mix, verdict="changes_requested", note="vocal")
    mix.refresh_from_db()
    assert not mix.is_approved


def test_new_version_does_not_inherit_approvals(scenario, song, mix):
    producer, artist = scenario.users["producer"], scenario.users["artist"]
    services.approval_give(actor=producer, mix=mix, verdict="approved")
    services.approval_give(actor=artist, mix=mix, verdict="approved")
    mix.refresh_from_db()
    assert mix.is_approved
    v2 = make_mix(song)
    assert not services.approval_state(v2).approved
    assert not v2.is_approved


def test_approval_roles_and_input(scenario, mix):
    with pytest.raises(Forbidden):
        services.approval_give(actor=scenario.users["viewer"], mix=mix, verdict="approved")
    with pytest.raises(Forbidden):
        services.approval_give(actor=scenario.users["engineer"], mix=mix, verdict="approved")
    with pytest.raises(NotFound):
        services.approval_give(actor=scenario.users["outsider"], mix=mix, verdict="approved")
    with pytest.raises(Invalid) as err:
        services.approval_give(actor=scenario.users["artist"], mix=mix, verdict="changes_requested")
    assert err.value.code == "note_required"
    with pytest.raises(Invalid):
        services.approval_give(actor=scenario.users["artist"], mix=mix, verdict="maybe")


def test_master_approval_engineer_counts(scenario, mix):
    master = make_master(mix)
    services.approval_give(actor=scenario.users["engineer"], master=master, verdict="approved")
    master.refresh_from_db()
    assert not master.is_approved  # the artist has not
    services.approval_give(actor=scenario.users["artist"], master=master, verdict="approved")
    master.refresh_from_db()
    assert master.is_approved


def _times(hours: int = 2) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)
    return start, start + datetime.timedelta(hours=hours)


def test_sessions_by_role_and_input(scenario, song):
    start, end = _times()
    engineer, artist = scenario.users["engineer"], scenario.users["artist"]
    s = services.session_schedule(
        actor=engineer,
        song=song,
        kind="recording",
        starts_at=start,
        ends_at=end,
        participants=[artist.pk],
        notes="vocals day",
    )
    assert list(s.participants.all()) == [artist]
    with pytest.raises(Forbidden):
        services.session_schedule(actor=artist, song=song, kind="mix", starts_at=start, ends_at=end)
    with pytest.raises(Invalid):
        services.session_schedule(
            actor=engineer, song=song, kind="mix", starts_at=end, ends_at=start
        )
    with pytest.raises(Invalid):
        services.session_schedule(
            actor=engineer, song=song, kind="party", starts_at=start, ends_at=end
        )
    with pytest.raises(Invalid):
        services.session_schedule(
            actor=engineer,
            song=song,
            kind="mix",
            starts_at=start,
            ends_at=end,
            participants=[scenario.users["outsider"].pk],
        )
    services.session_update(actor=engineer, session=s, notes="moved", kind="overdub")
    s.refresh_from_db()
    assert (s.kind, s.notes) == ("overdub", "moved")
    services.session_delete(actor=scenario.users["producer"], session=s)


def test_takes_and_one_keeper_per_part(scenario, song):
    start, end = _times()
    engineer = scenario.users["engineer"]
    s = services.session_schedule(
        actor=engineer, song=song, kind="recording", starts_at=start, ends_at=end
    )
    t1, t2 = make_take(song), make_take(song)
    guitar = make_take(song, part="guitar")
    services.session_add_take(actor=engineer, session=s, take=t1)
    services.session_add_take(actor=engineer, session=s, take=t2)
    assert set(s.takes.all()) == {t1, t2}
    services.take_set_keeper(actor=engineer, take=t1)
    services.take_set_keeper(actor=engineer, take=guitar)
    services.take_set_keeper(actor=engineer, take=t2)
    t1.refresh_from_db()
    t2.refresh_from_db()
    guitar.refresh_from_db()
    assert (t1.is_keeper, t2.is_keeper, guitar.is_keeper) == (False, True, True)
    with pytest.raises(Forbidden):
        services.take_set_keeper(actor=scenario.users["artist"], take=t1)
    services.session_remove_take(actor=engineer, session=s, take=t1)
    with pytest.raises(Invalid):
        services.session_remove_take(actor=engineer, session=s, take=t1)
    from studio.services.songs import song_create

    other_song = song_create(actor=scenario.users["producer"], project=scenario.project, title="B")
    with pytest.raises(Invalid):
        services.session_add_take(actor=engineer, session=s, take=make_take(other_song))


def test_comment_event_is_recorded_after_commit(scenario, mix, django_capture_on_commit_callbacks):
    from eventlog.models import Event

    with django_capture_on_commit_callbacks() as callbacks:
        c = services.comment_add(actor=scenario.users["artist"], mix=mix, body="x", start_s=0)
    event = Event.objects.filter(project=scenario.project).order_by("-seq").first()
    assert event.type == "comment.added" and event.payload["comment"]["id"] == c.pk
    assert len(callbacks) == 1
    assert Comment.objects.count() == 1


def test_a_comment_write_is_eight_statements_and_its_broadcast_reads_nothing_back(
    scenario, mix, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """W9's write path: the capability check (membership, song), then in the transaction the
    project lock, the comment, the seq (one UPDATE ... RETURNING), the event row, and the
    savepoint's two statements here (BEGIN/COMMIT in the app). The broadcast after commit sends
    the frame event_record built; no member list is read for a body without "@"."""
    with (
        django_assert_max_num_queries(8),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.comment_add(actor=scenario.users["artist"], mix=mix, body="kick at 1:02")
    assert len(callbacks) == 1


def test_the_broadcast_frame_is_the_logged_event(
    scenario, mix, monkeypatch, django_capture_on_commit_callbacks
):
    """The frame built when the event is recorded (and encoded once) is what the log replays:
    the same seq, type, payload (mentions included), actor and time."""
    import json

    from eventlog import broadcast
    from eventlog.models import Event

    sent: list[dict] = []
    monkeypatch.setattr(broadcast, "_group_send", lambda project_id, message: sent.append(message))
    engineer = scenario.users["engineer"]
    with_mention = f"@{engineer.username} the kick"
    for body in (with_mention, "no mention"):
        with django_capture_on_commit_callbacks(execute=True):
            services.comment_add(actor=scenario.users["artist"], mix=mix, body=body, start_s=1.5)
    events = Event.objects.filter(project=scenario.project).order_by("-seq")[:2][::-1]
    assert [json.loads(m["text"]) for m in sent] == [e.to_frame() for e in events]
    assert [(m["seq"], m["event_type"]) for m in sent] == [(e.seq, e.type) for e in events]
    assert events[0].payload["comment"]["mentions"] == [engineer.pk]
