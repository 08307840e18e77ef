"""Each run's private work folder, `JOB_WORK_DIR/<job id>`: made empty when a run starts (a
killed earlier attempt may have left files), removed when the run ends, and swept for jobs that
are over (a run killed on its last attempt never comes back to remove its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings


def work_root() -> Path:
    return Path(settings.JOB_WORK_DIR)


def workdir_path(job_id: int) -> Path:
    return work_root() / str(int(job_id))


def workdir_fresh(job_id: int) -> Path:
    path = workdir_path(job_id)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def workdir_remove(job_id: int) -> bool:
    path = workdir_path(job_id)
    if not path.exists():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


def workdirs() -> list[int]:
    """The job ids that have a work folder."""
    root = work_root()
    if not root.is_dir():
        return []
    return [int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
