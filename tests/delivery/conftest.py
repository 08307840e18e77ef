"""The delivery tests use the audio tests' real worker (tests/audio/conftest.py)."""

from tests.audio.conftest import (  # noqa: F401
    celery_worker_proc,
    no_job_left_running,
    session_worker,
)
