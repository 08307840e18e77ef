"""The Celery app: configured from Django settings (CELERY_*), tasks found in installed apps."""

import os

from celery import Celery

from audio.engine.memory import tune_malloc
from audio.jobs.worker import RecoverOnReconnect

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
# Workers get their parallelism from processes; BLAS threads on top of them stall under load
# (measured: analysis time varied 5x with 2 BLAS threads on a busy 2-core machine). Set before
# numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The engine's block arrays (and Daphne's body pieces) from the heap, not mapped afresh each
# time: audio.engine.memory says why. Set here, every Studio process and its forks have it.
tune_malloc()

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The worker's recovery on broker reconnect; its start-up sweep is a signal in the same module.
app.steps["consumer"].add(RecoverOnReconnect)
