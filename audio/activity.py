"""How audio's events read in the activity feed (registered in AudioConfig.ready)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audio.models import Asset, Master, Mix, Take
from eventlog.registry import Ref, Told, register_event_type, register_names, register_quiet


def _mix_names(ids: set[int]) -> dict[int, str]:
    rows = Mix.objects.filter(pk__in=ids).values_list("pk", "number", "song__title")
    return {pk: f"Mix {number} of '{title}'" for pk, number, title in rows}


def _master_names(ids: set[int]) -> dict[int, str]:
    rows = Master.objects.filter(pk__in=ids).values_list("pk", "number", "song__title")
    return {pk: f"Master {number} of '{title}'" for pk, number, title in rows}


def _file_names(ids: set[int]) -> dict[int, str]:
    return dict(Asset.objects.filter(pk__in=ids).values_list("pk", "original_name"))


def _take_numbers(ids: set[int]) -> dict[int, str]:
    return {pk: str(n) for pk, n in Take.objects.filter(pk__in=ids).values_list("pk", "number")}


def _mix_refs(p: dict[str, Any]) -> Iterable[Ref]:
    mix = p.get("mix") or {}
    yield ("mix", mix.get("id"))
    yield ("song", mix.get("song"))


def _attached_refs(key: str) -> Any:
    def refs(p: dict[str, Any]) -> Iterable[Ref]:
        yield ("song", (p.get(key) or {}).get("song"))

    return refs


def _job_refs(p: dict[str, Any]) -> Iterable[Ref]:
    yield ("file", (p.get("job") or {}).get("asset"))


def _mix_created(t: Told) -> str:
    mix = t.payload.get("mix", {})
    return f"{t.who} added Mix {mix.get('number', '')} of {t.names.song(mix.get('song'))}"


def _draft_created(t: Told) -> str:
    mix = t.payload.get("mix", {})
    return f"{t.who} started Mix {mix.get('number', '')} (draft) of {t.names.song(mix.get('song'))}"


def _draft_discarded(t: Told) -> str:
    mix = t.payload.get("mix", {})
    song = t.names.song(mix.get("song"))
    return f"{t.who} discarded Mix {mix.get('number', '')} (draft) of {song}"


def _mix_rendered(t: Told) -> str:
    mix = t.payload.get("mix", {})
    return f"{t.who} rendered Mix {mix.get('number', '')} of {t.names.song(mix.get('song'))}"


def _master_refs(p: dict[str, Any]) -> Iterable[Ref]:
    yield ("song", (p.get("master") or {}).get("song"))


def _master_created(t: Told) -> str:
    master = t.payload.get("master", {})
    song = t.names.song(master.get("song"))
    return f"{t.who} mastered {song}: Master {master.get('number', '')}"


def _reference_refs(p: dict[str, Any]) -> Iterable[Ref]:
    yield ("song", (p.get("reference") or {}).get("song"))


def _reference_added(t: Told) -> str:
    ref = t.payload.get("reference", {})
    title = ref.get("title") or "a reference track"
    return f"{t.who} added the reference '{title}' to {t.names.song(ref.get('song'))}"


def _reference_removed(t: Told) -> str:
    ref = t.payload.get("reference", {})
    title = ref.get("title") or "a reference track"
    return f"{t.who} removed the reference '{title}' from {t.names.song(ref.get('song'))}"


def _stem_attached(t: Told) -> str:
    return f"{t.who} added a stem to {t.names.song(t.payload.get('stem', {}).get('song'))}"


def _take_attached(t: Told) -> str:
    return f"{t.who} added a take to {t.names.song(t.payload.get('take', {}).get('song'))}"


def _kind(job: dict[str, Any]) -> str:
    return str(job.get("kind", "A")).capitalize()


def _job_finished(t: Told) -> str | None:
    job = t.payload.get("job", {})
    if job.get("kind") == "analyze":
        name = t.names.get("file", job.get("asset"))
        if name:
            return f"Analysis of '{name}' finished"
        return "Analysis finished: the waveform and loudness are ready"
    if job.get("kind") == "store":
        return None  # the upload already told it; moving its bytes to storage is not news
    if job.get("kind") == "render":
        return None  # mix.rendered tells it, with the version's name
    if job.get("kind") == "master":
        return None  # master.created tells it, with the master's name
    return f"{_kind(job)} job {job.get('id', '')} finished"


def _job_failed(t: Told) -> str:
    job = t.payload.get("job", {})
    name = t.names.get("file", job.get("asset"))
    if job.get("kind") == "analyze" and name:
        return f"Analysis of '{name}' failed: {job.get('error', '')}"
    if job.get("kind") == "store" and name:
        return f"Storing '{name}' failed (it stays served from this server): {job.get('error', '')}"
    return f"{_kind(job)} job failed: {job.get('error', '')}"


def _job_cancelled(t: Told) -> str:
    job = t.payload.get("job", {})
    name = t.names.get("file", job.get("asset"))
    if job.get("kind") == "analyze" and name:
        return f"{t.who} cancelled the analysis of '{name}'"
    return f"{t.who} cancelled {_kind(job).lower()} job {job.get('id', '')}"


def register() -> None:
    register_names("mix", _mix_names)
    register_names("master", _master_names)
    register_names("file", _file_names)
    register_names("take", _take_numbers)
    register_quiet("job.queued", "job.started", "job.running", "job.progress", "job.requeued")
    register_quiet("asset.analyzed")  # job.finished of the analysis says it
    register_quiet("asset.stored")  # where the bytes live is nobody's news
    # The attach and mix events already tell these.
    register_quiet("asset.created", "take.updated")
    register_event_type("master.created", _master_created, refs=_master_refs)
    register_event_type("reference.added", _reference_added, refs=_reference_refs)
    register_event_type("reference.removed", _reference_removed, refs=_reference_refs)
    register_event_type("mix.created", _mix_created, refs=_mix_refs)
    register_event_type("mix.draft_created", _draft_created, refs=_mix_refs)
    register_event_type("mix.draft_discarded", _draft_discarded, refs=_mix_refs)
    register_event_type("mix.rendered", _mix_rendered, refs=_mix_refs)
    register_quiet("mix.spec_changed")  # every fader move saves the draft: live, not news
    register_event_type("stem.attached", _stem_attached, refs=_attached_refs("stem"))
    register_event_type("take.attached", _take_attached, refs=_attached_refs("take"))
    register_event_type("job.finished", _job_finished, refs=_job_refs)
    register_event_type("job.failed", _job_failed, refs=_job_refs)
    register_event_type("job.cancelled", _job_cancelled, refs=_job_refs)
