"""Job kinds that only the tests register: nothing here ships. The test process imports this
module (tests/audio/conftest.py) and so does every test worker (`celery worker -I
tests.audio.jobkinds`), so both sides know the same kinds without any hook in the runner.

- `invert` (queue "audio"): a toy DSP kind, a 16-bit WAV with its polarity inverted, in
  blocks with a progress report each (`pace_s` slows each block, so a test can cancel it or
  kill its worker mid-run).
- `sleep`: sleeps `sleep` seconds in small steps with progress, then writes `sleep.json`, or
  `sleep.bin` of `output_bytes` deterministic bytes (so a kill can land inside the write).
- `stuck`: ignores its soft time limit (2 s), so only the hard kill ends it.
- `segv`: its worker child dies of SIGSEGV, like a decoder crashing on a poison input.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import time
import wave
from pathlib import Path

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded

from audio import storage
from audio.engine.errors import AudioError
from audio.jobs.registry import QUEUE_AUDIO, JobKindSpec, Outcome, Param, Progress, register
from audio.models import Asset, Job

SEGV_MESSAGE = "the test decoder crashed"
logger = logging.getLogger(__name__)


def invert(job: Job, progress: Progress, workdir: Path) -> Outcome:
    asset = Asset.objects.get(pk=job.asset_id or 0)
    blocks = int(job.params["blocks"])
    pace = float(job.params["pace_s"])
    with storage.local_path(asset.storage_name) as path, wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise AudioError("invert takes 16-bit PCM only", code="audio.unsupported_format")
        params = src.getparams()
        samples = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    work = workdir / "inverted.wav"
    step = max(1, -(-len(samples) // blocks))
    with wave.open(str(work), "wb") as out:
        out.setparams(params)
        for i in range(0, len(samples), step):
            block = samples[i : i + step].astype(np.int32)
            out.writeframes(np.clip(-block, -32768, 32767).astype("<i2").tobytes())
            time.sleep(pace)
            progress(min(1.0, (i + step) / len(samples)))
    data = work.read_bytes()
    output = storage.job_output_write(job.pk, "inverted.wav", data)
    return Outcome(result={"output": output, "sha256": hashlib.sha256(data).hexdigest()})


def sleep_output_bytes(job_id: int, size: int) -> bytes:
    """The deterministic content of a `sleep` job's `output_bytes` output."""
    block = hashlib.sha256(f"sleep-output-{int(job_id)}".encode()).digest() * 2048  # 64 KiB
    return (block * (size // len(block) + 1))[:size]


def sleep(job: Job, progress: Progress, workdir: Path) -> Outcome:
    seconds = float(job.params["sleep"])
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.1, left))
        progress(1.0 - left / seconds)
    storage.job_clean_temp(job.pk)
    logger.info("the sleep job %s slept %s s", job.pk, seconds)  # its line carries a request id
    size = int(job.params["output_bytes"])
    if size:
        name, data = "sleep.bin", sleep_output_bytes(job.pk, size)
    else:
        name, data = "sleep.json", storage.json_bytes({"job": job.pk})
    output = storage.job_output_write(job.pk, name, data)
    return Outcome(result={"output": output, "sha256": hashlib.sha256(data).hexdigest()})


def stuck(job: Job, progress: Progress, workdir: Path) -> Outcome:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except SoftTimeLimitExceeded:
            continue  # a handler deaf to the soft limit: the hard limit must end it
    return Outcome(result={})


def segv(job: Job, progress: Progress, workdir: Path) -> Outcome:
    os.kill(os.getpid(), signal.SIGSEGV)
    return Outcome(result={})


KINDS = [
    JobKindSpec(
        name="invert",
        handler=invert,
        queue=QUEUE_AUDIO,
        time_limit_s=120,
        subject="asset",
        params={
            "blocks": Param(int, default=20, minimum=1, maximum=10_000),
            "pace_s": Param(float, default=0.0, minimum=0, maximum=5),
        },
    ),
    JobKindSpec(
        name="sleep",
        handler=sleep,
        time_limit_s=120,
        params={
            "sleep": Param(float, default=0.0, minimum=0, maximum=600),
            "output_bytes": Param(int, default=0, minimum=0, maximum=64 * 1024 * 1024),
        },
    ),
    JobKindSpec(name="stuck", handler=stuck, time_limit_s=2, grace_s=3),
    JobKindSpec(name="segv", handler=segv, lost_message=SEGV_MESSAGE),
]

for _spec in KINDS:
    register(_spec, replace=True)
