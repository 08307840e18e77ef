"""Every bookings write records an event that validates against its schema and reads as a
sentence in the activity feed; the project's pages refetch on these types."""

from __future__ import annotations

import jsonschema
import pytest

from bookings import services
from eventlog.models import Event
from eventlog.registry import names_for, tell
from eventlog.schemas import EVENT_SCHEMAS
from sessions.services import session_delete, session_update
from tests.bookings.helpers import at, book, resource, session

pytestmark = pytest.mark.django_db

TYPES = {
    "resource.created",
    "resource.updated",
    "resource.deleted",
    "booking.created",
    "booking.updated",
    "booking.deleted",
}


def test_every_write_validates_and_reads_as_a_sentence(scenario):
    scenario.project.refresh_from_db()
    start = scenario.project.last_event_seq
    room = resource(scenario)
    ses = session(scenario)
    booking = book(scenario, room, ses)
    services.booking_update(actor=scenario.users["producer"], booking=booking, note="DI box")
    session_update(actor=scenario.users["producer"], session=ses, starts_at=at(1), ends_at=at(5))
    services.resource_update(
        actor=scenario.users["producer"], resource=room, data={"availability": "out_of_service"}
    )
    session_delete(actor=scenario.users["producer"], session=ses)
    services.resource_delete(actor=scenario.users["producer"], resource=room)
    events = list(Event.objects.filter(project=scenario.project, seq__gt=start).order_by("seq"))
    ours = [e for e in events if e.type in TYPES]
    assert {e.type for e in ours} == TYPES
    names = names_for([(e.type, e.payload) for e in ours])
    sentences = []
    for event in ours:
        jsonschema.validate(event.payload, EVENT_SCHEMAS[event.type])
        sentences.append(tell(event.type, who="Mia", payload=event.payload, names=names))
    assert "Mia added Live room to the inventory" in sentences
    assert "Mia booked Live room for the recording session of 'Night Drive'" in sentences
    assert "Mia moved Live room for the recording session of 'Night Drive'" in sentences
    assert "Mia released Live room for the recording session of 'Night Drive'" in sentences
    assert "Mia updated Live room in the inventory (out of service)" in sentences
    assert "Mia removed Live room from the inventory" in sentences


def test_the_demo_has_an_inventory_and_a_booked_session(scenario):
    from bookings.demo import seed_demo_bookings
    from bookings.models import Booking, Resource
    from tests.bookings.helpers import song

    users = {
        "mia": scenario.users["producer"],
        "leo": scenario.users["engineer"],
        "ava": scenario.users["artist"],
    }
    song(scenario, "Night Drive")
    seed_demo_bookings(project=scenario.project, users=users)
    seed_demo_bookings(project=scenario.project, users=users)  # idempotent
    assert Resource.objects.filter(project=scenario.project).count() == 5
    names = sorted(Booking.objects.values_list("resource__name", flat=True))
    assert names == ["U87", "Vocal booth"]
