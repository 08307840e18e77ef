"""The booking rules: no overlap ([start, end): touching ends are fine), the 409 names who holds
the time in the reader's zone, bad input is a 4xx with a sentence, sessions carry their
bookings when they move and free them when cancelled, every write records its event."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from bookings import services
from bookings.models import Booking
from eventlog.models import Event
from sessions.services import session_delete, session_update
from studio.errors import Conflict, Forbidden, Invalid
from studio.services.accounts import profile_update
from studio.services.songs import song_delete, song_restore
from tests.bookings.helpers import START, at, book, resource, session, song

pytestmark = pytest.mark.django_db


def _types(scenario, after: int) -> list[str]:
    return list(
        Event.objects.filter(project=scenario.project, seq__gt=after)
        .order_by("seq")
        .values_list("type", flat=True)
    )


def _seq(scenario) -> int:
    scenario.project.refresh_from_db()
    return scenario.project.last_event_seq


def test_a_booking_defaults_to_the_whole_session_and_records_its_event(scenario):
    ses = session(scenario)
    room = resource(scenario)
    before = _seq(scenario)
    booking = book(scenario, room, ses)
    assert (booking.starts_at, booking.ends_at) == (ses.starts_at, ses.ends_at)
    event = Event.objects.get(project=scenario.project, seq=before + 1)
    assert event.type == "booking.created"
    payload = event.payload["booking"]
    assert {k: payload[k] for k in ("id", "resource", "session", "song")} == {
        "id": booking.pk,
        "resource": room.pk,
        "session": ses.pk,
        "song": ses.song_id,
    }
    assert payload["starts_at"] == START.isoformat()


def test_an_overlap_is_refused_with_who_holds_it_in_the_readers_zone(scenario):
    mia = scenario.users["producer"]
    mia.first_name = "Mia"
    mia.save()
    profile_update(actor=scenario.users["engineer"], time_zone="Europe/Berlin")
    room = resource(scenario)
    first = session(scenario, starts=at(1), hours=2)  # 14:00-16:00 UTC = 15:00-17:00 CET
    book(scenario, room, first)
    other = session(scenario, on=song(scenario, "Other song"), hours=6)
    with pytest.raises(Conflict) as refused:
        book(scenario, room, other, who="engineer", starts_at=at(2), ends_at=at(3))
    assert refused.value.code == "booking_overlap"
    assert refused.value.detail == (
        "Live room is booked Wed 4 Dec 15:00–17:00 CET by Mia for the recording session of "
        "'Night Drive'"
    )
    assert Booking.objects.filter(resource=room).count() == 1


def test_touching_ends_are_not_an_overlap(scenario):
    room = resource(scenario)
    ses = session(scenario, hours=6)
    book(scenario, room, ses, starts_at=at(0), ends_at=at(2))
    book(scenario, room, ses, starts_at=at(2), ends_at=at(4))
    book(scenario, room, ses, starts_at=at(4), ends_at=at(6))
    with pytest.raises(Conflict):
        book(scenario, room, ses, starts_at=at(1.99), ends_at=at(2.01))
    assert Booking.objects.filter(resource=room).count() == 3


def test_another_resource_at_the_same_time_is_fine(scenario):
    ses = session(scenario)
    book(scenario, resource(scenario), ses)
    book(scenario, resource(scenario, "U87", "microphone"), ses)
    assert Booking.objects.filter(session=ses).count() == 2


def test_the_exclusion_constraint_holds_even_without_the_service(scenario):
    """PostgreSQL itself refuses an overlapping row written past the service."""
    assert connection.vendor == "postgresql"
    room = resource(scenario)
    ses = session(scenario)
    held = book(scenario, room, ses)
    with pytest.raises(IntegrityError, match="booking_no_overlap"), transaction.atomic():
        Booking.objects.create(
            project=scenario.project,
            resource=room,
            session=ses,
            starts_at=held.starts_at + datetime.timedelta(minutes=30),
            ends_at=held.ends_at,
        )


def test_the_overlap_check_the_other_vendors_use_finds_the_holder(scenario):
    """Embedded SQLite decides with `overlapping` under the project lock; the same query."""
    room = resource(scenario)
    held = book(scenario, room, session(scenario))
    assert services.overlapping(room.pk, at(3), at(5)) == held
    assert services.overlapping(room.pk, at(4), at(5)) is None  # touching
    assert services.overlapping(room.pk, at(-1), at(0)) is None
    assert services.overlapping(room.pk, at(1), at(2), exclude=(held.pk,)) is None


@pytest.mark.parametrize(
    ("starts", "ends", "code"),
    [
        (3, 1, "booking_times"),  # inverted
        (2, 2, "booking_times"),  # zero length
        (-1, 2, "booking_outside_session"),
        (1, 5, "booking_outside_session"),
    ],
)
def test_bad_times_are_a_400(scenario, starts, ends, code):
    ses = session(scenario)
    with pytest.raises(Invalid) as refused:
        book(scenario, resource(scenario), ses, starts_at=at(starts), ends_at=at(ends))
    assert refused.value.code == code
    assert refused.value.status == 400


def test_naive_or_garbled_times_are_a_400(scenario):
    ses = session(scenario)
    room = resource(scenario)
    with pytest.raises(Invalid, match="time zone"):
        book(scenario, room, ses, starts_at=datetime.datetime(2030, 12, 4, 14))  # noqa: DTZ001
    with pytest.raises(Invalid, match="ISO 8601"):
        book(scenario, room, ses, starts_at="tomorrow")


def test_a_foreign_resource_is_a_400(scenario, other_scenario):
    from studio.services.projects import member_add

    member_add(
        actor=other_scenario.users["producer"],
        project=other_scenario.project,
        username=scenario.users["producer"].username,
        role="producer",
    )
    foreign = resource(other_scenario, "Their room")
    with pytest.raises(Invalid) as refused:
        book(scenario, foreign, session(scenario))
    assert refused.value.code == "resource_other_project"


def test_an_out_of_service_resource_is_a_409_with_its_reason(scenario):
    room = resource(scenario, availability="out_of_service", availability_note="mains hum")
    with pytest.raises(Conflict) as refused:
        book(scenario, room, session(scenario))
    assert refused.value.code == "resource_out_of_service"
    assert refused.value.detail == "Live room is out of service: mains hum"


def test_who_may_book_and_manage(scenario):
    ses = session(scenario)
    room = resource(scenario)
    for who in ("artist", "viewer"):
        with pytest.raises(Forbidden):
            book(scenario, room, ses, who=who)
        with pytest.raises(Forbidden):
            services.resource_create(
                actor=scenario.users[who],
                project=scenario.project,
                data={"name": "X", "kind": "room"},
            )
    services.resource_create(
        actor=scenario.users["engineer"],
        project=scenario.project,
        data={"name": "X", "kind": "room"},
    )


def test_resource_rules(scenario):
    resource(scenario)
    with pytest.raises(Conflict) as taken:
        resource(scenario, "live ROOM")
    assert taken.value.code == "resource_name_taken"
    for data, field in (
        ({"name": "", "kind": "room"}, "name"),
        ({"name": "x" * 101, "kind": "room"}, "name"),
        ({"name": "A", "kind": "spaceship"}, "kind"),
        ({"name": "A", "kind": "room", "availability": "maybe"}, "availability"),
        ({"name": "A", "kind": "room", "notes": "n" * 2001}, "notes"),
    ):
        with pytest.raises(Invalid) as bad:
            services.resource_create(
                actor=scenario.users["producer"], project=scenario.project, data=data
            )
        assert field in bad.value.fields


def test_resource_writes_record_events_and_delete_releases_its_bookings(scenario):
    before = _seq(scenario)
    room = resource(scenario)
    book(scenario, room, session(scenario))
    services.resource_update(
        actor=scenario.users["engineer"],
        resource=room,
        data={"availability": "out_of_service", "availability_note": "flooded"},
    )
    room.refresh_from_db()
    assert room.availability_note == "flooded"
    services.resource_delete(actor=scenario.users["producer"], resource=room)
    assert _types(scenario, before) == [
        "resource.created",
        "song.created",
        "session.scheduled",
        "booking.created",
        "resource.updated",
        "booking.deleted",
        "resource.deleted",
    ]
    assert not Booking.objects.filter(project=scenario.project).exists()


def test_booking_update_and_delete(scenario):
    room = resource(scenario)
    ses = session(scenario)
    booking = book(scenario, room, ses)
    services.booking_update(
        actor=scenario.users["engineer"], booking=booking, starts_at=at(1), note="Bring the Rhodes"
    )
    booking.refresh_from_db()
    assert (booking.starts_at, booking.ends_at, booking.note) == (at(1), at(4), "Bring the Rhodes")
    with pytest.raises(Invalid):
        services.booking_update(actor=scenario.users["engineer"], booking=booking, ends_at=at(1))
    before = _seq(scenario)
    services.booking_delete(actor=scenario.users["engineer"], booking=booking)
    assert _types(scenario, before) == ["booking.deleted"]


def test_a_moved_session_takes_its_bookings_along(scenario):
    room, mic = resource(scenario), resource(scenario, "U87", "microphone")
    ses = session(scenario)  # 13:00-17:00
    whole = book(scenario, room, ses)
    part = book(scenario, mic, ses, starts_at=at(1), ends_at=at(2))
    before = _seq(scenario)
    session_update(actor=scenario.users["producer"], session=ses, starts_at=at(24), ends_at=at(30))
    whole.refresh_from_db()
    part.refresh_from_db()
    assert (whole.starts_at, whole.ends_at) == (at(24), at(30))  # whole session, longer now
    assert (part.starts_at, part.ends_at) == (at(25), at(26))  # moved by as much as the start
    assert _types(scenario, before) == ["session.updated", "booking.updated", "booking.updated"]


def test_a_session_moved_onto_a_held_room_is_refused_with_the_sentence(scenario):
    room = resource(scenario)
    mine = session(scenario)
    book(scenario, room, mine)
    theirs = session(scenario, starts=at(24), on=song(scenario, "B-side"))
    book(scenario, room, theirs)
    with pytest.raises(Conflict) as refused:
        session_update(
            actor=scenario.users["producer"], session=mine, starts_at=at(22), ends_at=at(25)
        )
    assert "Live room is booked Thu 5 Dec 13:00–17:00 UTC" in refused.value.detail
    assert "'B-side'" in refused.value.detail
    mine.refresh_from_db()
    assert mine.starts_at == START  # nothing moved


def test_a_moved_session_that_leaves_a_booking_no_time_is_refused(scenario):
    ses = session(scenario)
    book(scenario, resource(scenario), ses, starts_at=at(3), ends_at=at(4))
    with pytest.raises(Conflict) as refused:
        session_update(actor=scenario.users["producer"], session=ses, ends_at=at(2))
    assert refused.value.code == "booking_outside_session"


def test_consecutive_bookings_of_one_session_move_later_without_meeting(scenario):
    room = resource(scenario)
    ses = session(scenario)
    a = book(scenario, room, ses, starts_at=at(0), ends_at=at(2))
    b = book(scenario, room, ses, starts_at=at(2), ends_at=at(4))
    session_update(actor=scenario.users["producer"], session=ses, starts_at=at(1), ends_at=at(5))
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.starts_at, b.starts_at, b.ends_at) == (at(1), at(3), at(5))
    session_update(actor=scenario.users["producer"], session=ses, starts_at=at(-1), ends_at=at(3))
    a.refresh_from_db()
    assert a.starts_at == at(-1)


def test_a_cancelled_session_frees_its_bookings(scenario):
    room = resource(scenario)
    ses = session(scenario)
    book(scenario, room, ses)
    before = _seq(scenario)
    session_delete(actor=scenario.users["producer"], session=ses)
    assert _types(scenario, before) == ["booking.deleted", "session.deleted"]
    book(scenario, room, session(scenario))  # the time is free again


def test_a_deleted_song_frees_what_its_sessions_still_hold_and_keeps_the_past(scenario):
    room, mic = resource(scenario), resource(scenario, "U87", "microphone")
    gone = song(scenario, "Harbour Lights")
    future = session(scenario, on=gone)
    book(scenario, room, future)
    book(scenario, mic, future)
    past = session(scenario, on=gone, starts=datetime.datetime(2020, 3, 2, 10, tzinfo=datetime.UTC))
    kept = book(scenario, room, past)
    before = _seq(scenario)
    song_delete(actor=scenario.users["producer"], song=gone)
    assert _types(scenario, before) == ["song.deleted", "booking.deleted", "booking.deleted"]
    assert list(Booking.objects.filter(session__song=gone)) == [kept]
    other = session(scenario)
    book(scenario, room, other)  # the deleted song no longer holds the room
    book(scenario, mic, other)
    song_restore(actor=scenario.users["producer"], song=gone)
    assert list(Booking.objects.filter(session__song=gone)) == [kept]
