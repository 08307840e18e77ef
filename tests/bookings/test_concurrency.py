"""Twenty members' requests for one room at one time, at once, on PostgreSQL: exactly one
booking is made, and the other nineteen get the 409 that names who holds it."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from bookings.models import Booking
from studio.errors import Conflict
from tests.bookings.helpers import at, book, resource, session, song

ATTEMPTS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_room_make_exactly_one():
    assert connection.vendor == "postgresql", "the exclusion constraint needs PostgreSQL"
    from tests.conftest import make_scenario

    scenario = make_scenario()
    room = resource(scenario)
    tune = song(scenario)
    # each attempt books for a session of its own, all overlapping 14:00-15:00
    sessions = [session(scenario, on=tune, starts=at(n / 60), hours=2) for n in range(ATTEMPTS)]
    barrier = threading.Barrier(ATTEMPTS)
    won: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def attempt(n: int) -> None:
        try:
            barrier.wait()
            won.append(book(scenario, room, sessions[n], starts_at=at(1), ends_at=at(2)).pk)
        except Conflict as exc:
            refused.append(exc.code)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(ATTEMPTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(won) == 1
    assert refused == ["booking_overlap"] * (ATTEMPTS - 1)
    assert list(Booking.objects.filter(resource=room).values_list("pk", flat=True)) == won
