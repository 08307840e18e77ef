"""The bookings API: shapes, filters, the 4xx sentences, the 409 with the holder."""

from __future__ import annotations

import pytest

from tests.bookings.helpers import START, at, book, resource, session, song

pytestmark = pytest.mark.django_db


def test_resources_crud_and_who_reads(scenario):
    producer, viewer = scenario.client("producer"), scenario.client("viewer")
    made = producer.post(
        "/api/resources/",
        {"project": scenario.project.pk, "name": "Live room", "kind": "room", "notes": "Big"},
        format="json",
    )
    assert made.status_code == 201, made.content
    rid = made.json()["id"]
    rows = viewer.get(f"/api/resources/?project={scenario.project.pk}").json()["results"]
    assert [r["name"] for r in rows] == ["Live room"]
    assert viewer.get("/api/resources/?kind=microphone").json()["results"] == []
    again = producer.post(
        "/api/resources/",
        {"project": scenario.project.pk, "name": "live room", "kind": "room"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "resource_name_taken"
    off = scenario.client("engineer").patch(
        f"/api/resources/{rid}/",
        {"availability": "out_of_service", "availability_note": "hum"},
        format="json",
    )
    assert off.json()["availability"] == "out_of_service"
    assert viewer.patch(f"/api/resources/{rid}/", {"name": "x"}, format="json").status_code == 403
    assert producer.delete(f"/api/resources/{rid}/").status_code == 204


def test_booking_create_defaults_overlap_and_filters(scenario):
    room = resource(scenario)
    ses = session(scenario)
    client = scenario.client("engineer")
    made = client.post("/api/bookings/", {"resource": room.pk, "session": ses.pk}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["song"] == ses.song_id and body["resource_name"] == "Live room"
    assert body["starts_at"].startswith("2030-12-04T13:00:00")
    other = session(scenario, on=song(scenario, "B"))
    clash = client.post(
        "/api/bookings/",
        {
            "resource": room.pk,
            "session": other.pk,
            "starts_at": "2030-12-04T14:00:00Z",
            "ends_at": "2030-12-04T15:00:00Z",
        },
        format="json",
    )
    assert clash.status_code == 409
    assert clash.json()["code"] == "booking_overlap"
    assert clash.json()["detail"].startswith("Live room is booked Wed 4 Dec 13:00–17:00 UTC by ")
    viewer = scenario.client("viewer")
    assert len(viewer.get(f"/api/bookings/?session={ses.pk}").json()["results"]) == 1
    assert viewer.get(f"/api/bookings/?session={other.pk}").json()["results"] == []
    assert len(viewer.get(f"/api/bookings/?resource={room.pk}").json()["results"]) == 1
    window = "from=2030-12-04T16:59:00Z&to=2030-12-04T18:00:00Z"
    assert len(viewer.get(f"/api/bookings/?{window}").json()["results"]) == 1
    later = "from=2030-12-04T17:00:00Z&to=2030-12-04T18:00:00Z"  # touching: not in
    assert viewer.get(f"/api/bookings/?{later}").json()["results"] == []
    bad = viewer.get("/api/bookings/?from=yesterday")
    assert bad.status_code == 400 and "from" in bad.json()["detail"]
    backwards = viewer.get(f"/api/bookings/?from={START.isoformat()}&to=2030-01-01T00:00:00Z")
    assert backwards.status_code == 400
    # an offset PostgreSQL cannot store is the same instant in UTC (16:59Z here)
    odd_offset = viewer.get("/api/bookings/?from=2030-12-04T13:58:00-03:01")
    assert [b["id"] for b in odd_offset.json()["results"]] == [
        b["id"] for b in viewer.get(f"/api/bookings/?{window}").json()["results"]
    ]
    far_offset = viewer.get("/api/bookings/?from=2030-12-03T20:02:00-20:57")
    assert far_offset.status_code == 200 and len(far_offset.json()["results"]) == 1
    before_year_one = viewer.get("/api/bookings/?to=0001-01-01T00:00:00%2B05:00")
    assert before_year_one.status_code == 400 and "to" in before_year_one.json()["detail"]


@pytest.mark.parametrize(
    ("times", "status"),
    [
        ({"starts_at": "2030-12-04T15:00:00Z", "ends_at": "2030-12-04T14:00:00Z"}, 400),
        ({"starts_at": "2030-12-04T15:00:00Z", "ends_at": "2030-12-04T15:00:00Z"}, 400),
        ({"starts_at": "2030-12-04T12:00:00Z"}, 400),
        ({"starts_at": "not a time"}, 400),
    ],
)
def test_bad_times_are_400_with_a_sentence(scenario, times, status):
    room = resource(scenario)
    ses = session(scenario)
    answer = scenario.client("producer").post(
        "/api/bookings/", {"resource": room.pk, "session": ses.pk, **times}, format="json"
    )
    assert answer.status_code == status, answer.content
    assert answer.json()["detail"]


def test_a_foreign_resource_or_session_is_a_400(scenario, other_scenario):
    theirs_room = resource(other_scenario, "Their room")
    theirs_session = session(other_scenario)
    room, ses = resource(scenario), session(scenario)
    client = scenario.client("producer")
    for body in (
        {"resource": theirs_room.pk, "session": ses.pk},
        {"resource": room.pk, "session": theirs_session.pk},
    ):
        answer = client.post("/api/bookings/", body, format="json")
        assert answer.status_code == 400, answer.content


def test_an_out_of_service_resource_is_a_409(scenario):
    room = resource(scenario, availability="out_of_service")
    answer = scenario.client("producer").post(
        "/api/bookings/", {"resource": room.pk, "session": session(scenario).pk}, format="json"
    )
    assert answer.status_code == 409 and answer.json()["code"] == "resource_out_of_service"


def test_booking_patch_and_delete(scenario):
    booking = book(scenario, resource(scenario), session(scenario))
    client = scenario.client("producer")
    moved = client.patch(
        f"/api/bookings/{booking.pk}/",
        {"starts_at": at(1).isoformat(), "note": "tuned piano"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["note"] == "tuned piano"
    assert scenario.client("artist").delete(f"/api/bookings/{booking.pk}/").status_code == 403
    assert client.delete(f"/api/bookings/{booking.pk}/").status_code == 204
