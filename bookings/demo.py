"""The demo's rooms and equipment (called by `manage.py seed_demo`): a live room, a vocal booth,
two microphones and a compressor, and a tracking session next week with the live room and a
microphone booked, so the calendar and the session card have something to show."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from bookings.models import Resource
from bookings.services import booking_create, resource_create
from sessions.services import session_schedule
from studio.models import Project, Song

INVENTORY = [  # name, kind, notes, availability, why
    ("Live room", "room", "Drums and full band, 40 m²", "available", ""),
    ("Vocal booth", "room", "Dead, fits two singers", "available", ""),
    ("U87", "microphone", "Large diaphragm, the lead vocal's", "available", ""),
    ("SM7B", "microphone", "Broadcast dynamic", "available", ""),
    ("1176", "outboard", "FET compressor", "out_of_service", "Back from repair on Friday"),
]


def seed_demo_bookings(*, project: Project, users: dict[str, Any]) -> None:
    if Resource.objects.filter(project=project).exists():
        return
    mia = users["mia"]
    made = {}
    for name, kind, notes, availability, why in INVENTORY:
        made[name] = resource_create(
            actor=mia,
            project=project,
            data={
                "name": name,
                "kind": kind,
                "notes": notes,
                "availability": availability,
                "availability_note": why,
            },
        )
    song = Song.objects.filter(project=project, title="Night Drive").first()
    if song is None:
        return
    day = timezone.localdate() + datetime.timedelta(days=7 - timezone.localdate().weekday() + 1)
    start = datetime.datetime.combine(day, datetime.time(14), tzinfo=datetime.UTC)
    session = session_schedule(
        actor=mia,
        song=song,
        kind="recording",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=4),
        participants=[users["mia"].pk, users["leo"].pk, users["ava"].pk],
        notes="Lead vocal, verses and choruses.",
    )
    booking_create(actor=mia, resource=made["Vocal booth"], session=session)
    booking_create(
        actor=mia,
        resource=made["U87"],
        session=session,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )
