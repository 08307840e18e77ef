"""Review links: sending queues the link's own watermarked copy (the engine finds the link's id
in it), only the token's hash is kept, a link stops working when revoked, expired or when its
sender loses the role (the project's flag), accesses and outside comments are events, and a
leaked copy is traced back to its link while an unmarked file gives "no mark"."""

from __future__ import annotations

import datetime
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from audio import storage
from audio.engine.watermark.run import detect_file
from audio.jobs import runner
from audio.models import Job
from eventlog.models import Event
from reviewlinks import services
from reviewlinks.models import LeakTrace, ReviewAccess, ReviewLink, ReviewSettings
from studio.errors import Forbidden, Invalid, NotFound
from studio.models import Membership, Song
from tests.audio.audiofiles import write_wav
from tests.delivery.helpers import mastered_song

pytestmark = pytest.mark.timeout(300)


def _send(s: Any, **extra: Any) -> tuple[ReviewLink, str]:
    master = mastered_song(s, "Night Drive", seconds=20.0, seed=3).masters.get()
    return services.link_create(
        actor=s.users["producer"],
        master=master,
        recipient_name="Ana (A&R)",
        recipient_email="ana@label.test",
        note="First listen",
        **extra,
    )


@pytest.mark.django_db
def test_sending_keeps_only_the_hash_and_its_copy_carries_the_links_id(scenario: Any) -> None:
    link, token = _send(scenario)
    assert len(token) >= 43  # 256 bits, URL-safe
    assert link.token_sha256 == services.token_sha256(token) and token not in link.token_sha256
    assert 1 <= link.watermark_id <= 2**32 - 1
    assert link.state == "preparing"
    assert Event.objects.filter(project=scenario.project, type="review_link.created").exists()
    assert runner.run_job(link.job_id) == "done", Job.objects.get(pk=link.job_id).error
    link.refresh_from_db()
    assert link.state == "ready" and link.marked_asset_id is not None
    assert link.marked_asset_id != link.master.asset_id
    key = ReviewSettings.objects.get(project=scenario.project).watermark_key
    with storage.asset_path(link.marked_asset) as path:
        found = detect_file(path, key, [link.watermark_id, link.watermark_id ^ 1])
    assert found["found"] and found["id"] == link.watermark_id
    assert Event.objects.filter(type="review_link.ready", project=scenario.project).exists()


@pytest.mark.django_db
def test_only_producers_and_engineers_send_and_outsiders_see_nothing(scenario: Any) -> None:
    master = mastered_song(scenario, "Intro", seconds=3.0).masters.get()
    for who, error in (("artist", Forbidden), ("viewer", Forbidden), ("outsider", NotFound)):
        with pytest.raises(error):
            services.link_create(
                actor=scenario.users[who],
                master=master,
                recipient_name="X",
                recipient_email="x@y.z",
            )
    services.link_create(
        actor=scenario.users["engineer"], master=master, recipient_name="X", recipient_email="x@y.z"
    )


@pytest.mark.django_db
def test_bad_input_names_the_field(scenario: Any) -> None:
    master = mastered_song(scenario, "Intro", seconds=3.0).masters.get()
    cases = [
        ({"recipient_name": "", "recipient_email": "x@y.z"}, "recipient_name"),
        ({"recipient_name": "X", "recipient_email": "nope"}, "recipient_email"),
        (
            {
                "recipient_name": "X",
                "recipient_email": "x@y.z",
                "expires_at": timezone.now() - datetime.timedelta(hours=1),
            },
            "expires_at",
        ),
        ({"recipient_name": "X", "recipient_email": "x@y.z", "play_limit": 0}, "play_limit"),
    ]
    for kwargs, field in cases:
        with pytest.raises(Invalid) as err:
            services.link_create(actor=scenario.users["producer"], master=master, **kwargs)
        assert field in err.value.fields


@pytest.mark.django_db
def test_a_link_stops_working_when_revoked_expired_or_its_sender_loses_the_role(
    scenario: Any,
) -> None:
    link, token = _send(scenario)
    assert services.link_for_token(token).pk == link.pk
    for guess in ("", "x" * 43, token[:-1] + ("A" if token[-1] != "A" else "B")):
        with pytest.raises(NotFound):
            services.link_for_token(guess)
    ReviewLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
    with pytest.raises(NotFound):
        services.link_for_token(token)
    ReviewLink.objects.filter(pk=link.pk).update(expires_at=None)
    Membership.objects.filter(project=scenario.project, user=scenario.users["producer"]).update(
        role="viewer"
    )
    with pytest.raises(NotFound):
        services.link_for_token(token)
    ReviewSettings.objects.filter(project=scenario.project).update(stop_on_role_loss=False)
    assert services.link_for_token(token).pk == link.pk
    song = link.master.song
    Song.objects.filter(pk=song.pk).update(deleted_at=timezone.now())
    with pytest.raises(NotFound):
        services.link_for_token(token)  # its song was deleted
    Song.objects.filter(pk=song.pk).update(deleted_at=None)
    Membership.objects.filter(project=scenario.project, user=scenario.users["producer"]).update(
        role="producer"
    )
    services.link_revoke(actor=scenario.users["engineer"], link=link)
    with pytest.raises(NotFound):
        services.link_for_token(token)
    with pytest.raises(Forbidden):
        services.link_revoke(actor=scenario.users["artist"], link=link)


@pytest.mark.django_db
def test_accesses_and_outside_comments_are_logged_and_told_live(scenario: Any) -> None:
    link, _ = _send(scenario)
    services.access_record(link=link, kind="opened", address="192.0.2.1")
    services.access_record(link=link, kind="opened", address="192.0.2.1")  # a reload: no event
    services.access_record(link=link, kind="play", position_s=0.0)
    services.access_record(link=link, kind="stream")
    assert ReviewAccess.objects.filter(link=link).count() == 4
    assert services.plays(link) == 1
    comment = services.comment_add(link=link, body="Love the bridge", start_s=12.5)
    assert comment.author_name == "Ana (A&R)"
    event = Event.objects.get(project=scenario.project, type="review_link.commented")
    assert event.payload["comment"]["from_outside"] is True and event.actor is None
    assert Event.objects.filter(type="review_link.accessed").count() == 2  # opened, play
    with pytest.raises(Invalid):
        services.comment_add(link=link, body="  ", start_s=1.0)
    with pytest.raises(Invalid):
        services.access_record(link=link, kind="play", position_s=-1.0)


@pytest.mark.django_db
def test_a_leaked_copy_is_traced_to_its_link_and_a_clean_file_is_not(scenario: Any) -> None:
    link, _ = _send(scenario)
    assert runner.run_job(link.job_id) == "done"
    link.refresh_from_db()
    with storage.asset_path(link.marked_asset) as path:
        trace = services.trace_start(
            actor=scenario.users["engineer"], project=scenario.project, path=path, name="leak.wav"
        )
    assert runner.run_job(trace.job_id) == "done", Job.objects.get(pk=trace.job_id).error
    trace.refresh_from_db()
    assert trace.found is True and trace.link_id == link.pk and trace.confidence > 0
    with tempfile.TemporaryDirectory() as tmp:
        clean = write_wav(Path(tmp) / "clean.wav", seconds=20.0, seed=77)
        other = services.trace_start(
            actor=scenario.users["producer"], project=scenario.project, path=clean
        )
    assert runner.run_job(other.job_id) == "done"
    other.refresh_from_db()
    assert other.found is False and other.link_id is None
    assert LeakTrace.objects.filter(project=scenario.project).count() == 2
    with pytest.raises(Forbidden), tempfile.TemporaryDirectory() as tmp:
        services.trace_start(
            actor=scenario.users["artist"],
            project=scenario.project,
            path=write_wav(Path(tmp) / "a.wav", seconds=1.0),
        )


def test_an_archived_song_takes_no_outside_comment(scenario: Any) -> None:
    """An archived song is read-only for the team, and so for the listeners it was sent to."""
    from studio.errors import Conflict
    from studio.services.songs import song_archive

    link, _ = _send(scenario)
    version = link.mix or link.master
    song_archive(actor=scenario.users["producer"], song=version.song)
    link.refresh_from_db()
    with pytest.raises(Conflict, match="archived"):
        services.comment_add(link=link, body="Too late?", start_s=1.0)
    assert not link.comments.exists()


@pytest.mark.django_db
def test_the_recipient_is_emailed_their_link_once_committed_and_no_log_holds_it(
    scenario: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link, token = _send(scenario, link_for=lambda t: f"https://studio.test/r/#{t}")
    assert mailoutbox == []  # nothing leaves before the link is committed
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ana@label.test"]
    assert "Night Drive" in mail.subject
    assert f"https://studio.test/r/#{token}" in mail.body
    assert "First listen" in mail.body and link.version_label in mail.body
    assert token not in caplog.text


@pytest.mark.django_db
def test_a_failed_email_is_logged_without_the_token(
    scenario: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> int:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        link, token = _send(scenario)
    assert f"review link {link.pk}: the e-mail was not sent" in caplog.text
    assert token not in caplog.text
    assert ReviewLink.objects.filter(pk=link.pk).exists()
