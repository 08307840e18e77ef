"""Replay equivalence (W6 in docs/reliability.md, after Zulip's verify_action): for every
service that records events, snapshot(before) + the events it recorded == snapshot(after), and
every event validates against its declared JSON Schema (eventlog.schemas)."""

from __future__ import annotations

import copy
import datetime
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.conf import settings
from django.utils import timezone

from audio.jobs.runner import run_job
from audio.models import Asset, Job, Mix, Stem, Take
from audio.payloads import asset_payload, job_payload
from audio.services import assets, jobs, mixes
from eventlog.models import Event
from eventlog.schemas import EVENT_SCHEMAS, FRAME_SCHEMA
from sessions import services as live
from sessions.models import Approval, Comment, WorkingSession
from sessions.payloads import approval_payload, comment_payload, session_payload
from studio.models import Credit, Membership, Project, SampleUse, Song, Split, Task
from studio.payloads import (
    credit_payload,
    membership_payload,
    project_payload,
    sample_use_payload,
    song_payload,
    task_payload,
)
from studio.services import credits, projects, rights, songs, tasks
from tests.audio.audiofiles import write_wav
from tests.factories import UserFactory
from tests.live.conftest import make_asset, make_mix, make_take

pytestmark = pytest.mark.django_db


# --- the snapshot a client would fetch, and the reducer it would run ---------------------------
def snapshot(project_id: int) -> dict[str, Any]:
    """What a member reads: a deleted song and all it holds are gone from every read."""
    project = Project.objects.get(pk=project_id)
    live = {"song__deleted_at__isnull": True}
    splits: dict[str, list] = {}
    for split in Split.objects.filter(song__project_id=project_id, **live).order_by(
        "position", "id"
    ):
        splits.setdefault(f"{split.song_id}:{split.right}", []).append(
            {"party": split.party, "share": str(split.share)}
        )
    return {
        "project": project_payload(project),
        "members": {
            m.pk: membership_payload(m)
            for m in Membership.objects.filter(project_id=project_id).select_related("user")
        },
        "songs": {
            s.pk: song_payload(s)
            for s in Song.objects.filter(project_id=project_id, deleted_at__isnull=True)
        },
        "tasks": {
            t.pk: task_payload(t)
            for t in Task.objects.filter(project_id=project_id, **live).select_related("assignee")
        },
        "credits": {
            c.pk: credit_payload(c)
            for c in Credit.objects.filter(song__project_id=project_id, **live).select_related(
                "user"
            )
        },
        "splits": splits,
        "sample_uses": {
            s.pk: sample_use_payload(s)
            for s in SampleUse.objects.filter(song__project_id=project_id, **live)
        },
        "comments": {
            c.pk: comment_payload(c) for c in Comment.objects.filter(project_id=project_id)
        },
        "approvals": {
            a.pk: approval_payload(a) for a in Approval.objects.filter(project_id=project_id)
        },
        "mixes": {
            m.pk: {"song": m.song_id, "number": m.number, "is_approved": m.is_approved}
            for m in Mix.objects.filter(project_id=project_id, **live)
        },
        "stems": {s.pk: s.song_id for s in Stem.objects.filter(project_id=project_id, **live)},
        "takes": {
            t.pk: {"song": t.song_id, "part": t.part, "number": t.number, "is_keeper": t.is_keeper}
            for t in Take.objects.filter(project_id=project_id, **live)
        },
        "sessions": {
            s.pk: session_payload(s)
            for s in WorkingSession.objects.filter(project_id=project_id, **live)
        },
        "assets": {a.pk: asset_payload(a) for a in Asset.objects.filter(project_id=project_id)},
        "jobs": {j.pk: job_payload(j) for j in Job.objects.filter(project_id=project_id)},
    }


def _drop_song(state: dict[str, Any], song_id: int) -> None:
    state["songs"].pop(song_id, None)
    for key in ("tasks", "credits", "sample_uses", "sessions"):
        state[key] = {k: v for k, v in state[key].items() if v["song"] != song_id}
    state["splits"] = {k: v for k, v in state["splits"].items() if k.split(":")[0] != str(song_id)}
    for key in ("mixes", "takes"):
        state[key] = {k: v for k, v in state[key].items() if v["song"] != song_id}
    state["stems"] = {k: v for k, v in state["stems"].items() if v != song_id}


def apply(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Apply one event frame to a snapshot, the way a browser does."""
    state = copy.deepcopy(state)
    kind, p = event["type"], event["payload"]
    entity, verb = kind.split(".", 1)
    if kind in ("project.created", "project.updated"):
        state["project"] = p["project"]
    elif entity == "member":
        if verb == "removed":
            state["members"].pop(p["member"]["id"], None)
        else:
            state["members"][p["member"]["id"]] = p["member"]
    elif entity == "song":
        if verb in ("deleted", "purged"):
            _drop_song(state, p["song"]["id"])
        else:
            state["songs"][p["song"]["id"]] = p["song"]
    elif entity == "task":
        if verb == "deleted":
            state["tasks"].pop(p["task"]["id"], None)
        else:
            state["tasks"][p["task"]["id"]] = p["task"]
        for status, ids in p.get("columns", {}).items():
            for rank, task_id in enumerate(ids):
                state["tasks"][task_id]["rank"] = rank
                state["tasks"][task_id]["status"] = status
    elif entity == "credit":
        if verb == "removed":
            state["credits"].pop(p["credit"]["id"], None)
        else:
            state["credits"][p["credit"]["id"]] = p["credit"]
    elif kind == "splits.set":
        key = f"{p['song']}:{p['right']}"
        if p["shares"]:
            state["splits"][key] = p["shares"]
        else:
            state["splits"].pop(key, None)
    elif entity == "sample_use":
        if verb == "removed":
            state["sample_uses"].pop(p["sample_use"]["id"], None)
        else:
            state["sample_uses"][p["sample_use"]["id"]] = p["sample_use"]
    elif entity == "comment":
        state["comments"][p["comment"]["id"]] = p["comment"]
    elif kind == "approval.given":
        state["approvals"][p["approval"]["id"]] = p["approval"]
    elif kind == "mix.approval_changed":
        state["mixes"][p["mix"]["id"]]["is_approved"] = p["mix"]["is_approved"]
    elif kind == "mix.created":
        m = p["mix"]
        state["mixes"][m["id"]] = {"song": m["song"], "number": m["number"], "is_approved": False}
    elif kind == "stem.attached":
        state["stems"][p["stem"]["id"]] = p["stem"]["song"]
    elif kind in ("take.attached", "take.updated"):
        t = p["take"]
        state["takes"][t["id"]] = {
            "song": t["song"],
            "part": t["part"],
            "number": t["number"],
            "is_keeper": t["is_keeper"],
        }
    elif kind == "take.keeper_changed":
        for t in p["takes"]:
            state["takes"][t["id"]]["is_keeper"] = t["is_keeper"]
    elif entity == "session":
        if verb == "deleted":
            state["sessions"].pop(p["session"]["id"], None)
        else:
            state["sessions"][p["session"]["id"]] = p["session"]
    elif kind in ("asset.created", "asset.analyzed"):
        state["assets"][p["asset"]["id"]] = p["asset"]
    elif entity == "job":
        state["jobs"][p["job"]["id"]] = p["job"]
    else:
        raise AssertionError(f"the reducer does not know {kind}")
    return state


def verify_action(project: Any, action: Any) -> tuple[Any, list[dict[str, Any]]]:
    project.refresh_from_db()
    before, seq0 = snapshot(project.pk), project.last_event_seq
    result = action()
    frames = [
        e.to_frame()
        for e in Event.objects.filter(project_id=project.pk, seq__gt=seq0).select_related("actor")
    ]
    assert frames, "the action recorded no event"
    assert [f["seq"] for f in frames] == list(range(seq0 + 1, seq0 + 1 + len(frames)))
    state = before
    for frame in frames:
        jsonschema.validate(frame, FRAME_SCHEMA)
        assert frame["type"] in EVENT_SCHEMAS, f"no schema for {frame['type']}"
        jsonschema.validate(frame["payload"], EVENT_SCHEMAS[frame["type"]])
        state = apply(state, frame)
    assert state == snapshot(project.pk)
    return result, frames


def _types(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


# --- the services ----------------------------------------------------------------------------
def test_verify_studio_services(scenario):
    pr = scenario.users["producer"]
    project = scenario.project
    v = lambda fn: verify_action(project, fn)  # noqa: E731

    v(lambda: projects.project_update(actor=pr, project=project, name="Renamed"))
    UserFactory(username="newbie")
    m, _ = v(
        lambda: projects.member_add(actor=pr, project=project, username="newbie", role="viewer")
    )
    v(lambda: projects.member_set_role(actor=pr, membership=m, role="artist"))
    v(lambda: projects.member_remove(actor=pr, membership=m))
    song, _ = v(lambda: songs.song_create(actor=pr, project=project, title="S", key="C"))
    v(lambda: songs.song_update(actor=pr, song=song, title="S2", tempo_bpm="120.50"))
    v(lambda: songs.song_move_stage(actor=pr, song=song, to="recording"))
    t1, _ = v(lambda: tasks.task_create(actor=pr, song=song, title="a"))
    t2, _ = v(lambda: tasks.task_create(actor=pr, song=song, title="b"))
    t3, _ = v(lambda: tasks.task_create(actor=pr, song=song, title="c"))
    v(lambda: tasks.task_update(actor=pr, task=t1, title="a2", assignee=scenario.users["artist"]))
    v(lambda: tasks.task_move(actor=pr, task=t3, status="todo", rank=0))
    v(lambda: tasks.task_move(actor=pr, task=t1, status="doing"))
    v(lambda: tasks.task_delete(actor=pr, task=t2))
    c, _ = v(
        lambda: credits.credit_add(
            actor=pr, song=song, role="performer", contributor_name="X", instrument="bass"
        )
    )
    v(lambda: credits.credit_update(actor=pr, credit=c, contributor_name="Y"))
    v(lambda: credits.credit_remove(actor=pr, credit=c))
    shares = [{"party": "A", "share": "60"}, {"party": "B", "share": "40"}]
    v(lambda: rights.split_set(actor=pr, song=song, right="composition", shares=shares))
    v(lambda: rights.split_set(actor=pr, song=song, right="composition", shares=[]))
    su, _ = v(lambda: rights.sample_use_add(actor=pr, song=song, source_work="W", kind="sample"))
    v(lambda: rights.sample_use_update(actor=pr, sample_use=su, clearance="cleared"))
    v(lambda: rights.sample_use_remove(actor=pr, sample_use=su))
    tasks.task_create(actor=pr, song=song, title="goes with the song")
    _, frames = v(lambda: songs.song_delete(actor=pr, song=song))
    assert _types(frames) == ["song.deleted"]


def test_verify_live_services(scenario, song):
    project = scenario.project
    pr, ar, en = (scenario.users[r] for r in ("producer", "artist", "engineer"))
    v = lambda fn: verify_action(project, fn)  # noqa: E731
    mix = make_mix(song)

    root, _ = v(lambda: live.comment_add(actor=ar, mix=mix, body="@engineer kick", start_s=1.5))
    reply, _ = v(lambda: live.comment_add(actor=en, mix=mix, body="on it", parent=root))
    v(lambda: live.comment_edit(actor=ar, comment=root, body="kick louder"))
    v(lambda: live.comment_resolve(actor=en, comment=root))
    v(lambda: live.comment_reopen(actor=ar, comment=root))
    v(lambda: live.comment_delete(actor=en, comment=reply))
    v(lambda: live.approval_give(actor=pr, mix=mix, verdict="approved"))
    _, frames = v(lambda: live.approval_give(actor=ar, mix=mix, verdict="approved"))
    assert _types(frames) == ["approval.given", "mix.approval_changed"]
    _, frames = v(
        lambda: live.approval_give(actor=ar, mix=mix, verdict="changes_requested", note="x")
    )
    assert _types(frames) == ["approval.given", "mix.approval_changed"]

    start = timezone.now() + datetime.timedelta(days=1)
    session, _ = v(
        lambda: live.session_schedule(
            actor=en,
            song=song,
            kind="recording",
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=3),
            participants=[ar.pk],
        )
    )
    v(lambda: live.session_update(actor=en, session=session, participants=[ar.pk, pr.pk]))
    t1, t2 = make_take(song), make_take(song)
    v(lambda: live.session_add_take(actor=en, session=session, take=t1))
    v(lambda: live.session_add_take(actor=en, session=session, take=t2))
    v(lambda: live.session_remove_take(actor=en, session=session, take=t2))
    v(lambda: live.take_set_keeper(actor=en, take=t1))
    _, frames = v(lambda: live.take_set_keeper(actor=en, take=t2))
    assert len(frames[0]["payload"]["takes"]) == 2
    v(lambda: live.take_set_keeper(actor=en, take=t2, is_keeper=False))
    v(lambda: live.session_delete(actor=pr, session=session))


def test_verify_audio_attach_services(scenario, song):
    project = scenario.project
    en = scenario.users["engineer"]
    v = lambda fn: verify_action(project, fn)  # noqa: E731
    # rows made directly (no event), before each action, so they are in its "before" snapshot
    a1, a2, a3 = make_asset(project), make_asset(project), make_asset(project)
    v(lambda: mixes.mix_create(actor=en, song=song, asset=a1))
    v(lambda: assets.stem_attach(actor=en, song=song, asset=a2, instrument="gtr"))
    take, _ = v(lambda: assets.take_attach(actor=en, song=song, asset=a3, part="vox"))
    v(lambda: assets.take_update(actor=en, take=take, notes="great"))


def test_verify_asset_and_job_events(scenario, tmp_path):
    """A file comes in (`asset.created`, `job.queued`), its analysis runs in this process the
    way a worker runs it (`job.started`, `asset.analyzed`, `job.finished`); a job whose file is
    missing fails (`job.failed`); a job handed back after a blip is requeued (`job.requeued`);
    a queued job is cancelled (`job.cancelled`). Each replays onto the snapshot."""
    project = scenario.project
    en = scenario.users["engineer"]
    v = lambda fn: verify_action(project, fn)  # noqa: E731

    path = write_wav(tmp_path / "take.wav", seconds=0.5, seed=5)
    asset, frames = v(
        lambda: assets.asset_ingest_file(
            actor=en, project=project, path=path, original_name="take.wav"
        )
    )
    assert _types(frames) == ["asset.created", "job.queued"]
    job = Job.objects.get(asset=asset)
    _, frames = v(lambda: run_job(job.pk))
    assert _types(frames) == ["job.started", "asset.analyzed", "job.finished"]
    assert snapshot(project.pk)["assets"][asset.pk]["has_analysis"] is True

    missing = make_asset(project)  # a row (made without an event) whose file is not stored
    broken, _ = v(lambda: jobs.job_create(actor=en, project=project, kind="analyze", asset=missing))
    _, frames = v(lambda: run_job(broken.pk))
    assert _types(frames) == ["job.started", "job.failed"]

    blip, _ = v(lambda: jobs.job_create(actor=en, project=project, kind="analyze", asset=asset))
    claim, _ = v(lambda: jobs.job_claim(blip.pk))
    _, frames = v(lambda: jobs.job_release(claim, reason="OperationalError: retrying"))
    assert _types(frames) == ["job.requeued"]
    _, frames = v(lambda: jobs.job_cancel(actor=en, job=blip))
    assert _types(frames) == ["job.cancelled"]
    assert snapshot(project.pk)["jobs"][blip.pk]["state"] == "cancelled"


# --- every event type a service can record has a schema ------------------------------------
EVENT_TYPE_RE = re.compile(r"""type=(?:f?)["']([a-z_]+\.[a-z_]+)["']""")


def test_every_recorded_event_type_has_a_schema():
    """Scans the services for event types; a type without a schema in eventlog.schemas fails."""
    root = Path(settings.BASE_DIR)
    files = [
        *root.glob("studio/services/*.py"),
        *root.glob("audio/services/*.py"),
        *root.glob("audio/jobs/*.py"),
        *root.glob("sessions/services*.py"),
        *root.glob("sessions/services/*.py"),
    ]
    found = {m for f in files for m in EVENT_TYPE_RE.findall(f.read_text())}
    assert {"comment.added", "song.created", "approval.given"} <= found
    found |= {"mix.approval_changed", "master.approval_changed"}  # built with an f-string
    missing = sorted(found - set(EVENT_SCHEMAS))
    assert not missing, f"event types without a schema: {missing}"
