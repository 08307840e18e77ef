"""Probe untrusted files outside the web process, one fresh child process per probe.

libsndfile has a history of crashes on crafted headers, and a segfault inside Daphne would take
every websocket with it. So the web tier probes each file in its own child process, with a
memory and CPU cap and a wall-clock timeout; a crash or a hang becomes a refusal, never a 5xx.

One child per probe, so a slow or killed probe touches no other: with a shared pool, one upload's
20-second probe made every other completing upload wait behind it (and its timeout, counted from
submission, could then refuse a good file), and killing a hung child broke the pool for the
probes queued behind it. At most ``PROBE_CONCURRENCY`` children run at once; the timeout counts
from the child's start. The caller's thread waits, but under ASGI each HTTP request has its own
sync thread (Django runs every request in its own thread-sensitive context), so no other request
waits with it.

Each child is forked by a launcher: a small process of one thread, started once per concurrent
slot from a forkserver that has the engine preloaded, which forks a child per probe, kills it
past the timeout and passes its answer on. A child started straight from the forkserver first
imports the web process's main module again (multiprocessing does so for every forkserver
child: under Daphne that is daphne.cli and Twisted, about 0.2 s per probe); a launcher imports it
once, and its children are plain forks of a few milliseconds. `warm` starts one ahead of the
first probe. The child answers in JSON, read with a size cap, never a pickle: a child that a
crafted header took over can make its probe fail, but cannot run code in the launcher or here.
Imports nothing from Django (only the engine, at module level, so the forkserver has it
preloaded), so the children stay light.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import resource
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from audio.engine.errors import AudioError
from audio.engine.io import Limits, probe

PROBE_TIMEOUT_S = 20.0
PROBE_CONCURRENCY = max(2, os.cpu_count() or 2)
MEMORY_CAP_BYTES = 1024 * 1024 * 1024
CPU_CAP_S = 60
# A launcher's start (the forkserver's, the first time, and the main module's import) and its
# answer beyond the child's own timeout.
LAUNCHER_START_S = 60.0
LAUNCHER_GRACE_S = 5.0
ANSWER_MAX_BYTES = 1024 * 1024
_READY = b"ready"

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["audio.engine.io", "audio.sandbox"])
_slots = threading.BoundedSemaphore(PROBE_CONCURRENCY)
_idle: list[_Launcher] = []
_lock = threading.Lock()
_started = 0  # launchers alive or starting, at most PROBE_CONCURRENCY


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


def _crashed(message: str) -> bytes:
    return json.dumps(["crashed", message]).encode()


# --- in a launcher ----------------------------------------------------------------------------


def _launcher_main(conn: Connection) -> None:
    """A launcher: one request at a time from the web process (path, limits, timeout), each
    probed in a child forked for it; the answer is the child's JSON, passed on unread."""
    conn.send_bytes(_READY)
    while True:
        try:
            path, limits_kwargs, timeout_s = conn.recv()  # from the web process: trusted
        except (EOFError, OSError):  # the web process is gone
            return
        conn.send_bytes(_run_child(conn, path, limits_kwargs, timeout_s))


def _run_child(
    conn: Connection, path: str, limits_kwargs: dict[str, Any], timeout_s: float
) -> bytes:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    try:
        pid = os.fork()  # the launcher has one thread: a plain fork is safe
    except OSError:
        receiver.close()
        sender.close()
        return _crashed("the file checker is unavailable")
    if pid == 0:  # the child: never returns into the launcher's loop
        try:
            conn.close()
            receiver.close()
            _init_child()
            sender.send_bytes(json.dumps(_probe(path, limits_kwargs)).encode())
        finally:
            os._exit(0)
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            return _crashed("reading the file took too long")
        try:
            return receiver.recv_bytes(ANSWER_MAX_BYTES)
        except (EOFError, OSError):
            return _crashed("the decoder crashed on this file")
    finally:
        receiver.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


# --- in the web process -----------------------------------------------------------------------


class _Launcher:
    def __init__(self) -> None:
        self.conn, theirs = _context.Pipe()
        self.proc = _context.Process(
            target=_launcher_main, args=(theirs,), daemon=True, name="probe-launcher"
        )
        try:
            self.proc.start()
        except OSError:
            self.conn.close()
            raise ProbeCrashed("the file checker is unavailable") from None
        finally:
            theirs.close()
        try:
            ready = self.conn.poll(LAUNCHER_START_S) and self.conn.recv_bytes(16) == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise ProbeCrashed("the file checker is unavailable")

    def stop(self) -> None:
        self.conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


def _checkout() -> _Launcher:
    """An idle launcher that is alive, or a new one. The caller holds a slot."""
    global _started
    with _lock:
        while _idle:
            launcher = _idle.pop()
            if launcher.proc.is_alive():
                return launcher
            _started -= 1
            launcher.stop()
        _started += 1
    return _start()


def _start() -> _Launcher:
    """A new launcher, already counted in `_started` (uncounted again if it cannot start)."""
    global _started
    try:
        return _Launcher()
    except BaseException:
        with _lock:
            _started -= 1
        raise


def _checkin(launcher: _Launcher) -> None:
    with _lock:
        if len(_idle) < PROBE_CONCURRENCY:
            _idle.append(launcher)
            return
    _discard(launcher)


def _discard(launcher: _Launcher) -> None:
    global _started
    launcher.stop()
    with _lock:
        _started -= 1


def _warm_one() -> None:
    with contextlib.suppress(ProbeCrashed):
        _checkin(_start())


def warm() -> None:
    """Start a launcher in the background when none is running, so that the first probe does
    not wait for the forkserver and the launcher to start. Returns at once."""
    global _started
    with _lock:
        if _started:
            return
        _started += 1
    threading.Thread(target=_warm_one, name="probe-launcher-start", daemon=True).start()


def _answer(raw: bytes) -> tuple[str, Any]:
    """The child's JSON answer, checked: ("ok", dict) or ("error", (code, message))."""
    try:
        status, value = json.loads(raw)
    except (ValueError, TypeError):
        raise ProbeCrashed("the decoder crashed on this file") from None
    if status == "crashed" and isinstance(value, str):
        raise ProbeCrashed(value)
    if status == "ok" and isinstance(value, dict):
        return "ok", value
    if status == "error" and isinstance(value, list) and len(value) == 2:
        code, message = value
        if isinstance(code, str) and isinstance(message, str):
            return "error", (code, message)
    raise ProbeCrashed("the decoder crashed on this file")


def probe_isolated(
    path: str, limits_kwargs: dict[str, Any], *, timeout_s: float = PROBE_TIMEOUT_S
) -> tuple[str, Any]:
    """Probe `path` in a child of its own; raise ProbeCrashed if the child dies or hangs (it is
    killed after `timeout_s`)."""
    with _slots:
        launcher = _checkout()
        try:
            launcher.conn.send((path, limits_kwargs, timeout_s))
            if not launcher.conn.poll(timeout_s + LAUNCHER_GRACE_S):
                raise ProbeCrashed("reading the file took too long")
            raw = launcher.conn.recv_bytes(ANSWER_MAX_BYTES + 64)
        except (EOFError, OSError):
            _discard(launcher)
            raise ProbeCrashed("the file checker is unavailable") from None
        except BaseException:
            _discard(launcher)
            raise
        _checkin(launcher)
        return _answer(raw)
