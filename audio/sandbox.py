"""Probe untrusted files outside the web process.

libsndfile has a history of crashes on crafted headers, and a segfault inside Daphne would take
every websocket with it. So the web tier probes in a small spawned process pool with a memory and
CPU cap; a crash or a hang becomes a refusal, never a 5xx. Imports nothing from Django, so the
child stays light.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any

PROBE_TIMEOUT_S = 20.0
MEMORY_CAP_BYTES = 1024 * 1024 * 1024
CPU_CAP_S = 60

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


class ProbeCrashed(Exception):
    """The prober died or hung on this file."""


def _init_child() -> None:
    import resource

    for limit, value in ((resource.RLIMIT_AS, MEMORY_CAP_BYTES), (resource.RLIMIT_CPU, CPU_CAP_S)):
        try:
            _soft, hard = resource.getrlimit(limit)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (cap, hard))
        except (ValueError, OSError):
            pass


def _probe(path: str, limits_kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Runs in the child: ("ok", info dict) or ("error", (code, message))."""
    from audio.engine.errors import AudioError
    from audio.engine.io import Limits, probe

    try:
        info = probe(path, Limits(**limits_kwargs))
    except AudioError as exc:
        return "error", (exc.code, str(exc))
    except MemoryError:
        return "error", ("audio.decoder_crashed", "the decoder ran out of memory")
    return "ok", info.to_dict()


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_child,
            )
        return _pool


def _reset_pool() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def probe_isolated(path: str, limits_kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Probe `path` in the sandbox; raise ProbeCrashed if the child dies or hangs."""
    for _ in range(2):
        pool = _get_pool()
        try:
            future = pool.submit(_probe, path, limits_kwargs)
        except (BrokenProcessPool, RuntimeError):
            _reset_pool()
            continue
        try:
            return future.result(timeout=PROBE_TIMEOUT_S)
        except FutureTimeout:
            _reset_pool()
            raise ProbeCrashed("reading the file took too long") from None
        except BrokenProcessPool:
            _reset_pool()
            raise ProbeCrashed("the decoder crashed on this file") from None
    raise ProbeCrashed("the file checker is unavailable")
