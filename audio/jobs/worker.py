"""The worker's recovery hooks. Free of Django models at import time, so studio/celery.py can
add the consumer step to its app before Django is set up; both only send the sweep task.

- At start (`worker_ready`) the worker sends the sweep with no age threshold: the embedded
  broker loses in-flight messages when a whole worker dies, and only the rows remember them.
- `RecoverOnReconnect` does the same each time the consumer reconnects to the broker (a Redis
  restarted without persistence lost every queued message). Duplicates are cheap: the claim
  skips them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps, current_app
from celery.signals import worker_ready

from audio.jobs.registry import SWEEP_TASK

logger = logging.getLogger(__name__)


def send_recovery_sweep(app: Any = None) -> None:
    try:
        (app or current_app).send_task(SWEEP_TASK, kwargs={"queued_after_s": 0})
    except Exception:
        logger.warning("could not send the sweep", exc_info=True)


class RecoverOnReconnect(bootsteps.StartStopStep):
    """A consumer step: started each time the consumer (re)connects to the broker; after a
    reconnect (the first start is `worker_ready`'s) it sends the sweep."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c: Any) -> None:
        if getattr(c, "restart_count", 0) > 0:
            logger.info("broker connection restored: sending the sweep")
            send_recovery_sweep(c.app)


@worker_ready.connect
def _recover_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    send_recovery_sweep(getattr(sender, "app", None))
