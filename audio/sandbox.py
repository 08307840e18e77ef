"""Probe untrusted files outside the web process, one fresh child process per probe.

libsndfile has a history of crashes on crafted headers, and a segfault inside Daphne would take
every websocket with it. So the web tier probes each file in its own child process, forked from
a forkserver that has the engine preloaded (a few milliseconds, not an interpreter start), with a
memory and CPU cap and a wall-clock timeout; a crash or a hang becomes a refusal, never a 5xx.

One child per probe, so a slow or killed probe touches no other: with a shared pool, one upload's
20-second probe made every other completing upload wait behind it (and its timeout, counted from
submission, could then refuse a good file), and killing a hung child broke the pool for the
probes queued behind it. At most ``PROBE_CONCURRENCY`` children run at once; the timeout counts
from the child's start. The caller's thread waits, but under ASGI each HTTP request has its own
sync thread (Django runs every request in its own thread-sensitive context), so no other request
waits with it. Imports nothing from Django (only the engine, at module level, so the forkserver
has it preloaded), so the children stay light.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
from multiprocessing.connection import Connection
from typing import Any

from audio.engine.errors import AudioError
from audio.engine.io import Limits, probe

PROBE_TIMEOUT_S = 20.0
PROBE_CONCURRENCY = max(2, os.cpu_count() or 2)
MEMORY_CAP_BYTES = 1024 * 1024 * 1024
CPU_CAP_S = 60

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["audio.engine.io", "audio.sandbox"])
_slots = threading.BoundedSemaphore(PROBE_CONCURRENCY)


class ProbeCrashed(Exception):
    """The prober died or hung on this file."""


def _init_child() -> None:
    for limit, value in ((resource.RLIMIT_AS, MEMORY_CAP_BYTES), (resource.RLIMIT_CPU, CPU_CAP_S)):
        try:
            _soft, hard = resource.getrlimit(limit)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (cap, hard))
        except (ValueError, OSError):
            pass


def _probe(path: str, limits_kwargs: dict[str, Any]) -> tuple[str, Any]:
    """Runs in the child: ("ok", info dict) or ("error", (code, message))."""
    try:
        info = probe(path, Limits(**limits_kwargs))
    except AudioError as exc:
        return "error", (exc.code, str(exc))
    except MemoryError:
        return "error", ("audio.decoder_crashed", "the decoder ran out of memory")
    return "ok", info.to_dict()


def _child(conn: Connection, path: str, limits_kwargs: dict[str, Any]) -> None:
    _init_child()
    conn.send(_probe(path, limits_kwargs))
    conn.close()


def probe_isolated(
    path: str, limits_kwargs: dict[str, Any], *, timeout_s: float = PROBE_TIMEOUT_S
) -> tuple[str, Any]:
    """Probe `path` in a child of its own; raise ProbeCrashed if the child dies or hangs (it is
    killed after `timeout_s`)."""
    with _slots:
        receiver, sender = _context.Pipe(duplex=False)
        proc = _context.Process(target=_child, args=(sender, path, limits_kwargs), daemon=True)
        try:
            proc.start()
        except OSError:
            receiver.close()
            raise ProbeCrashed("the file checker is unavailable") from None
        finally:
            sender.close()
        try:
            if not receiver.poll(timeout_s):
                raise ProbeCrashed("reading the file took too long")
            try:
                result: tuple[str, Any] = receiver.recv()
            except (EOFError, OSError):
                raise ProbeCrashed("the decoder crashed on this file") from None
            return result
        finally:
            receiver.close()
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            if proc.exitcode is not None:
                proc.close()
