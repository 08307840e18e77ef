"""The e-mail digest through Django's e-mail framework (locmem in tests): what it carries, the
reader's time zone, never the same notification twice, nothing when there is nothing."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.management import call_command

from notifications import services
from notifications.digest import local_time, send_digests
from notifications.models import Digest, Kind, Notification
from notifications.tasks import send_digests as send_digests_task
from studio.services.accounts import profile_update
from studio.services.songs import song_move_stage
from studio.services.tasks import task_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STUDIO_BASE_URL = "https://studio.example.test"


@pytest.fixture
def addresses(scenario):
    for who, user in scenario.users.items():
        user.email = f"{who}@example.test"
        user.save()


def _mail_to(address: str) -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [address]]


def test_the_digest_carries_each_unread_notification_once_in_the_readers_zone(
    scenario, song, addresses
):
    engineer, producer = scenario.users["engineer"], scenario.users["producer"]
    profile_update(actor=engineer, time_zone="Asia/Tokyo")
    song_move_stage(actor=producer, song=song, to="recording")
    task_create(actor=producer, song=song, title="Comp the vocals", assignee=engineer)
    when = Notification.objects.filter(recipient=engineer).earliest("created_at").created_at

    assert send_digests() == 3  # engineer, artist and viewer; the producer acted
    [message] = _mail_to("engineer@example.test")
    assert message.subject == "Studio: 2 new notifications"
    assert "Night Drive EP" in message.body
    assert "producer moved 'Night Drive' to Recording" in message.body
    assert "producer assigned you 'Comp the vocals' on 'Night Drive'" in message.body
    assert f"https://studio.example.test/songs/{song.pk}/" in message.body
    assert local_time(when, "Asia/Tokyo") in message.body
    assert " JST: " in message.body
    assert not _mail_to("producer@example.test")

    mail.outbox.clear()
    assert send_digests() == 0  # nothing new: nothing sent, nothing twice
    assert mail.outbox == []
    song_move_stage(actor=producer, song=song, to="editing")
    assert send_digests() == 3
    [again] = _mail_to("engineer@example.test")
    assert again.subject == "Studio: 1 new notification"
    assert "to Editing" in again.body and "to Recording" not in again.body
    assert Digest.objects.filter(recipient=engineer).count() == 2


def test_read_ones_and_kinds_without_email_are_not_mailed(scenario, song, addresses):
    artist, viewer, producer = (scenario.users[w] for w in ("artist", "viewer", "producer"))
    services.preference_set(user=viewer, kind=Kind.STAGE, email=False)
    services.preference_set(user=scenario.users["engineer"], kind=Kind.STAGE, inbox=False)
    song_move_stage(actor=producer, song=song, to="recording")
    services.notifications_mark_all_read(user=artist)
    assert send_digests() == 1
    assert [m.to for m in mail.outbox] == [["engineer@example.test"]]  # e-mail only: mailed


def test_the_zone_and_its_abbreviation():
    at = datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.UTC)
    assert local_time(at, "Europe/Paris") == "1 Jul 2026, 14:00 CEST"
    assert local_time(at, "America/New_York") == "1 Jul 2026, 08:00 EDT"
    assert local_time(at, "Not/AZone") == "1 Jul 2026, 12:00 UTC"


def test_the_command_and_the_beat_task(scenario, song, addresses, settings):
    assert settings.CELERY_BEAT_SCHEDULE["notification-digests"]["task"] == (
        "notifications.send_digests"
    )
    song_move_stage(actor=scenario.users["producer"], song=song, to="recording")
    from io import StringIO

    out = StringIO()
    call_command("send_digests", stdout=out)
    assert out.getvalue().strip() == "3 digests sent"
    assert len(mail.outbox) == 3
    assert send_digests_task.run() == 0  # the task runs the same service: nothing left
    assert len(mail.outbox) == 3


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_mail_each_notification_once(settings):
    """Eight digests of one person started together: exactly one message (PostgreSQL row locks,
    SKIP LOCKED, the conditions re-checked on the locked rows)."""
    import threading

    from django.db import close_old_connections, connection

    from notifications.digest import send_digest
    from tests.conftest import make_scenario

    assert connection.vendor == "postgresql"
    scenario = make_scenario()
    from studio.services.songs import song_create

    song = song_create(actor=scenario.users["producer"], project=scenario.project, title="Once")
    engineer = scenario.users["engineer"]
    engineer.email = "engineer@example.test"
    engineer.save()
    for stage in ("recording", "editing", "mixing"):
        song_move_stage(actor=scenario.users["producer"], song=song, to=stage)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            send_digest(engineer.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    mine = _mail_to("engineer@example.test")
    assert len(mine) == 1 and mine[0].subject == "Studio: 3 new notifications"
    assert Digest.objects.filter(recipient=engineer).count() == 1
