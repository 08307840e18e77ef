"""The delivery tests use the audio tests' real worker (tests/audio/conftest.py)."""

from tests.audio.conftest import celery_worker_proc, session_worker  # noqa: F401
