"""The studio tests that need a real worker use the audio tests' (tests/audio/conftest.py)."""

from tests.audio.conftest import (  # noqa: F401
    celery_worker_proc,
    no_job_left_running,
    session_worker,
)
