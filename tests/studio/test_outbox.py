"""The event outbox: seqs under concurrency, broadcast and enqueue after commit only."""

import base64
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction

from eventlog import broadcast
from eventlog.models import Event
from eventlog.services import event_record
from studio.models import Project
from studio.services import songs


@pytest.mark.django_db(transaction=True)
def test_seqs_are_gapless_under_concurrency():
    """8 threads making 50 changes each on one project end with seqs exactly 1..400."""
    assert connection.vendor == "postgresql", "select_for_update needs PostgreSQL"
    from tests.conftest import make_scenario

    scenario = make_scenario()
    producer, project = scenario.users["producer"], scenario.project
    start = Project.objects.get(pk=project.pk).last_event_seq
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(50):
                songs.song_create(actor=producer, project=project, title=f"t{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = list(Event.objects.filter(project=project, seq__gt=start).values_list("seq", flat=True))
    assert sorted(seqs) == list(range(start + 1, start + 401))
    assert Project.objects.get(pk=project.pk).last_event_seq == start + 400


@pytest.mark.django_db
def test_broadcast_happens_after_commit(scenario, django_capture_on_commit_callbacks, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(broadcast, "broadcast_event", sent.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        songs.song_create(
            actor=scenario.users["producer"], project=scenario.project, title="On commit"
        )
        assert sent == []  # nothing before the commit
    assert len(callbacks) == 1
    event = Event.objects.get(pk=sent[0])
    assert event.type == "song.created"


@pytest.mark.django_db
def test_nothing_is_broadcast_on_rollback(
    scenario, django_capture_on_commit_callbacks, monkeypatch
):
    sent: list[int] = []
    monkeypatch.setattr(broadcast, "broadcast_event", sent.append)
    last = Event.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        songs.song_create(
            actor=scenario.users["producer"], project=scenario.project, title="Rolled back"
        )
        raise RuntimeError("abort")
    assert callbacks == []
    assert sent == []
    assert Event.objects.count() == last


@pytest.mark.django_db(transaction=True)
def test_event_record_refuses_to_run_outside_a_transaction():
    from tests.conftest import make_scenario

    scenario = make_scenario()
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        event_record(project=scenario.project, type="x", payload={}, actor=None)


@pytest.mark.django_db
def test_a_broken_channel_layer_never_fails_the_write(scenario, settings, caplog):
    """A Redis outage during broadcast (group_send raises ConnectionError) is logged and
    swallowed."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        event = Event.objects.filter(project=scenario.project).last()
        broadcast.broadcast_event(event.pk)
    finally:
        channel_layers.backends.clear()
    assert "channel layer send" in caplog.text


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A real broker of this test's own: a Celery app on kombu's filesystem transport (the one
    the embedded mode runs on) made the current app, so `celery.current_app.send_task` publishes
    into a folder no worker reads. Yields a reader of every message waiting there, as
    {queue, task, args}."""
    from celery import Celery, current_app

    folder = tmp_path / "broker"
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(parents=True)
    app = Celery("outbox-test", broker="filesystem://", set_as_current=False)
    app.conf.broker_transport_options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    app.conf.task_serializer = "json"
    previous = current_app._get_current_object()

    def messages() -> list[dict[str, Any]]:
        found = []
        for path in sorted((folder / "queue").glob("*.msg")):
            message = json.loads(path.read_text())
            body = json.loads(base64.b64decode(message["body"]))
            queue = message["properties"]["delivery_info"]["routing_key"]
            found.append({"queue": queue, "task": message["headers"]["task"], "args": body[0]})
        return found

    app.set_current()
    try:
        yield messages
    finally:
        previous.set_current()
        app.close()


@pytest.mark.django_db
def test_jobs_reach_the_broker_after_commit(scenario, django_capture_on_commit_callbacks, broker):
    """The job row is the outbox: the broker holds nothing while the transaction is open, and
    exactly one message after it commits: the one task that runs any job, with the job's id, on
    the queue of its kind (analysis is DSP: the audio queue)."""
    from audio.models import Job
    from audio.services.jobs import job_create
    from tests.live.conftest import make_asset

    asset = make_asset(scenario.project)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(
            actor=scenario.users["engineer"], project=scenario.project, kind="analyze", asset=asset
        )
        assert Job.objects.filter(pk=job.pk).exists()
        assert broker() == []
    assert broker() == [{"queue": "audio", "task": "audio.jobs.run_job", "args": [job.pk]}]


@pytest.mark.django_db
def test_a_rolled_back_job_never_reaches_the_broker(
    scenario, django_capture_on_commit_callbacks, broker
):
    from audio.models import Job
    from audio.services.jobs import job_create
    from tests.live.conftest import make_asset

    asset = make_asset(scenario.project)
    before = Job.objects.count()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        job_create(
            actor=scenario.users["engineer"], project=scenario.project, kind="analyze", asset=asset
        )
        raise RuntimeError("abort")
    assert callbacks == []
    assert Job.objects.count() == before
    assert broker() == []
