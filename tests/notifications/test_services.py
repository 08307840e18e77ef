"""The fan-out rules, one by one: each kind reaches exactly its audience, never the actor, never
someone who is not a member or cannot see the song, and a kind switched off reaches no one."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import transaction

from audio.services.mixes import mix_create
from eventlog.models import Event
from eventlog.registry import _listeners, register_listener
from eventlog.services import event_record
from notifications import services
from notifications.models import Kind, Notification
from sessions import services as live
from studio.errors import Invalid
from studio.models import Membership
from studio.services.projects import member_remove
from studio.services.songs import song_delete, song_move_stage
from studio.services.tasks import task_create, task_update
from tests.live.conftest import make_asset
from tests.notifications.conftest import inbox, kinds

pytestmark = pytest.mark.django_db

EVERYONE = ("producer", "engineer", "artist", "viewer", "outsider")


def counts(scenario: Any, kind: str) -> dict[str, int]:
    return {
        who: Notification.objects.filter(recipient=scenario.users[who], kind=kind).count()
        for who in EVERYONE
    }


# --- mentions -------------------------------------------------------------------------------


def test_a_mention_tells_the_members_it_names_and_never_the_author(scenario, mix):
    artist = scenario.users["artist"]
    live.comment_add(
        actor=artist, mix=mix, body="@engineer @viewer @artist the snare at 1:02", start_s=62
    )
    assert counts(scenario, Kind.MENTION) == {
        "producer": 0,
        "engineer": 1,
        "artist": 0,  # the author mentioned herself: not told
        "viewer": 1,  # a viewer reads the song, so a mention reaches her
        "outsider": 0,
    }
    [told] = inbox(scenario.users["engineer"])
    assert told.sentence.startswith("artist mentioned you on Mix 1 of 'Night Drive'")
    assert "the snare at 1:02" in told.sentence
    assert told.link == f"/mixes/{mix.pk}/"
    assert told.song_id == mix.song_id and told.project_id == scenario.project.pk
    assert told.event.type == "comment.added"


def test_an_edit_tells_only_the_newly_mentioned(scenario, mix):
    artist = scenario.users["artist"]
    comment = live.comment_add(actor=artist, mix=mix, body="@engineer listen", start_s=1)
    live.comment_edit(actor=artist, comment=comment, body="@engineer and @producer listen")
    assert counts(scenario, Kind.MENTION)["engineer"] == 1
    assert counts(scenario, Kind.MENTION)["producer"] == 1


def test_an_unknown_mention_is_refused_with_a_sentence(scenario, mix):
    artist = scenario.users["artist"]
    with pytest.raises(Invalid) as refused:
        live.comment_add(actor=artist, mix=mix, body="@zed what do you think?", start_s=1)
    assert refused.value.detail == "No one called @zed is a member of this project"
    assert refused.value.code == "unknown_mention"
    # the outsider exists, but is no member: the same sentence
    with pytest.raises(Invalid, match="No one called @outsider is a member"):
        live.comment_add(actor=artist, mix=mix, body="cc @outsider", start_s=1)
    assert not Notification.objects.exists()


def test_what_is_not_a_mention(scenario, mix):
    """An @ inside an e-mail address, a time after an @, a lone @ and an @@ are text."""
    artist = scenario.users["artist"]
    body = "mail zed@example.com or @zed@example.com, the hat @1:23, 2 @ 3, @@zed"
    comment = live.comment_add(actor=artist, mix=mix, body=body, start_s=1)
    assert list(comment.mentions.all()) == []
    comment = live.comment_add(actor=artist, mix=mix, body="thanks @engineer.", start_s=1)
    assert [u.username for u in comment.mentions.all()] == ["engineer"]


def test_a_one_word_display_name_is_a_handle_unless_two_members_share_it(scenario, mix):
    artist, engineer, viewer = (scenario.users[w] for w in ("artist", "engineer", "viewer"))
    engineer.first_name = "Leo"
    engineer.save()
    comment = live.comment_add(actor=artist, mix=mix, body="@Leo can you look", start_s=1)
    assert list(comment.mentions.all()) == [engineer]
    viewer.first_name = "leo"
    viewer.save()
    with pytest.raises(Invalid, match="could be more than one member"):
        live.comment_add(actor=artist, mix=mix, body="@leo can you look", start_s=1)


# --- tasks ----------------------------------------------------------------------------------


def test_a_task_tells_its_new_assignee_once(scenario, song):
    producer, engineer, artist = (scenario.users[w] for w in ("producer", "engineer", "artist"))
    task = task_create(actor=producer, song=song, title="Tune the toms", assignee=engineer)
    assert kinds(engineer) == [Kind.TASK]
    assert inbox(engineer)[0].sentence == "producer assigned you 'Tune the toms' on 'Night Drive'"
    task_update(actor=producer, task=task, title="Tune the toms and the snare")
    assert kinds(engineer) == [Kind.TASK]  # still theirs: not told again
    task_update(actor=producer, task=task, assignee=artist)
    assert kinds(artist) == [Kind.TASK]
    task_update(actor=producer, task=task, assignee=engineer)
    assert kinds(engineer) == [Kind.TASK, Kind.TASK]  # given back: told again
    task_create(actor=producer, song=song, title="Mine", assignee=producer)
    assert kinds(producer) == []  # never the actor
    assert counts(scenario, Kind.TASK)["viewer"] == 0


# --- stage moves ----------------------------------------------------------------------------


def test_a_stage_move_tells_every_member_who_can_see_the_song_but_the_mover(scenario, song):
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    assert counts(scenario, Kind.STAGE) == {
        "producer": 0,
        "engineer": 1,
        "artist": 1,
        "viewer": 1,
        "outsider": 0,
    }
    assert inbox(scenario.users["viewer"])[0].sentence == (
        "producer moved 'Night Drive' to Recording"
    )


def test_a_kind_switched_off_reaches_no_one_and_email_only_stays_out_of_the_inbox(scenario, song):
    viewer, artist = scenario.users["viewer"], scenario.users["artist"]
    services.preference_set(user=viewer, kind=Kind.STAGE, inbox=False, email=False)
    services.preference_set(user=artist, kind=Kind.STAGE, inbox=False)
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    assert counts(scenario, Kind.STAGE)["viewer"] == 0
    assert inbox(artist) == []  # not listed, not counted ...
    row = Notification.objects.get(recipient=artist)
    assert not row.in_inbox  # ... but there for the e-mail digest
    assert services.unread_count(artist) == 0
    assert kinds(scenario.users["engineer"]) == [Kind.STAGE]


def test_nobody_is_told_about_a_song_they_cannot_see(scenario, song):
    """A deleted song (or project) tells no one, an outsider is never in an audience, and what was
    told before leaves the inbox once the song is deleted or the member is removed."""
    producer = scenario.users["producer"]
    members = [scenario.users[w].pk for w in EVERYONE]
    assert services.audience(
        project_id=scenario.project.pk, song_id=song.pk, candidates=members, actor_id=producer.pk
    ) == sorted(scenario.users[w].pk for w in ("engineer", "artist", "viewer"))
    song_move_stage(actor=producer, song=song, to="recording")
    engineer, viewer = scenario.users["engineer"], scenario.users["viewer"]
    assert kinds(engineer) == [Kind.STAGE] and kinds(viewer) == [Kind.STAGE]
    member_remove(
        actor=producer, membership=Membership.objects.get(project=scenario.project, user=viewer)
    )
    assert inbox(viewer) == []  # no longer a member: no longer shown
    song_delete(actor=producer, song=song)
    assert inbox(engineer) == []  # the song is gone: so is what it told
    assert (
        services.audience(
            project_id=scenario.project.pk,
            song_id=song.pk,
            candidates=members,
            actor_id=producer.pk,
        )
        == []
    )


# --- versions waiting for approval -----------------------------------------------------------


def test_a_new_mix_waits_for_the_producers_and_artists(scenario, song):
    engineer = scenario.users["engineer"]
    mix = mix_create(actor=engineer, song=song, asset=make_asset(scenario.project))
    assert counts(scenario, Kind.APPROVAL) == {
        "producer": 1,
        "engineer": 0,  # the actor (and engineers do not approve mixes)
        "artist": 1,
        "viewer": 0,  # viewers approve nothing
        "outsider": 0,
    }
    told = inbox(scenario.users["artist"])[0]
    assert told.sentence == "Mix 1 of 'Night Drive' is waiting for your approval"
    assert told.link == f"/mixes/{mix.pk}/"


@pytest.mark.urls("tests.audio.urls")  # the API alone: no page to link to
def test_without_pages_the_notification_has_no_link_and_the_write_stands(scenario, song):
    mix = mix_create(
        actor=scenario.users["engineer"], song=song, asset=make_asset(scenario.project)
    )
    told = inbox(scenario.users["artist"])[0]
    assert told.sentence == "Mix 1 of 'Night Drive' is waiting for your approval"
    assert told.link == "" and mix.pk is not None


def test_a_new_master_waits_for_producers_engineers_and_artists(scenario, song):
    from audio.payloads import master_payload
    from tests.live.conftest import make_master, make_mix

    master = make_master(make_mix(song))
    with transaction.atomic():  # the event the master job records (audio/jobs/master.py)
        event_record(
            project=scenario.project,
            type="master.created",
            payload={"master": master_payload(master)},
            actor=scenario.users["producer"],
        )
    assert counts(scenario, Kind.APPROVAL) == {
        "producer": 0,
        "engineer": 1,
        "artist": 1,
        "viewer": 0,
        "outsider": 0,
    }
    assert inbox(scenario.users["engineer"])[0].link == f"/masters/{master.pk}/"


# --- the listener registry ------------------------------------------------------------------


def test_a_listener_runs_in_the_events_transaction(scenario):
    """What a listener writes exists exactly when its event does: its failure rolls both back."""
    seen: list[int] = []

    def listener(event: Event) -> None:
        seen.append(event.seq)
        if event.payload.get("fail"):
            raise RuntimeError("listener failed")

    register_listener("project.updated", listener)
    try:
        before = Event.objects.count()
        with pytest.raises(RuntimeError), transaction.atomic():
            event_record(
                project=scenario.project, type="project.updated", payload={"fail": 1}, actor=None
            )
        assert Event.objects.count() == before and len(seen) == 1
        with transaction.atomic():
            event_record(project=scenario.project, type="project.updated", payload={}, actor=None)
        assert Event.objects.count() == before + 1 and len(seen) == 2
    finally:
        _listeners["project.updated"].remove(listener)


# --- bookings -------------------------------------------------------------------------------


def test_a_booking_tells_the_sessions_participants_only(scenario, song):
    from bookings import services as bookings
    from sessions.services import session_delete

    s = scenario
    engineer, artist = s.users["engineer"], s.users["artist"]
    room = bookings.resource_create(
        actor=s.users["producer"], project=s.project, data={"name": "Live room", "kind": "room"}
    )
    start = datetime.datetime(2030, 3, 1, 10, tzinfo=datetime.UTC)
    session = live.session_schedule(
        actor=s.users["producer"],
        song=song,
        kind="recording",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        participants=[engineer.pk, artist.pk, s.users["producer"].pk],
    )
    booking = bookings.booking_create(actor=engineer, resource=room, session=session)
    assert counts(s, Kind.BOOKING) == {
        "producer": 1,
        "engineer": 0,  # booked it herself
        "artist": 1,
        "viewer": 0,  # not in the session
        "outsider": 0,
    }
    assert inbox(artist)[0].sentence == (
        "engineer booked Live room for the recording session of 'Night Drive'"
    )
    assert inbox(artist)[0].link == f"/songs/{song.pk}/"
    bookings.booking_update(
        actor=s.users["producer"],
        booking=booking,
        starts_at=start + datetime.timedelta(hours=1),
    )
    assert counts(s, Kind.BOOKING)["engineer"] == 1 and counts(s, Kind.BOOKING)["producer"] == 1
    session_delete(actor=s.users["producer"], session=session)  # frees the booking
    assert counts(s, Kind.BOOKING) == {
        "producer": 1,
        "engineer": 2,
        "artist": 3,
        "viewer": 0,
        "outsider": 0,
    }
    assert inbox(artist)[-1].sentence.startswith("producer released Live room")
