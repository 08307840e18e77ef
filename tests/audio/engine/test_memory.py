"""audio.engine.memory: megabyte block arrays come from the heap once the allocator is tuned,
instead of being mapped, faulted in and unmapped on every block."""

from __future__ import annotations

import json
import subprocess
import sys

from audio.engine import memory

# A worker thread makes a chunk's arrays (24 tracks' stereo blocks of 512 KiB, touched), holds
# them until the chunk is summed and drops them all, chunk after chunk, as the mixer does; the
# page faults of those chunks are counted.
BLOCKS_CHILD = """
import json, resource, sys, threading
import numpy as np
from audio.engine.memory import tune_malloc
tuned = tune_malloc() if sys.argv[1] == "tuned" else None
faults = []
def chunk():
    held = [np.ones((2, 65536), dtype=np.float32) for _ in range(24)]
    return len(held)
def chunks():
    for _ in range(5):  # warm: the arena reaches its size
        chunk()
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(50):
        chunk()
    faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
thread = threading.Thread(target=chunks)
thread.start()
thread.join()
print(json.dumps({"tuned": tuned, "faults": faults[0]}))
"""


def _faults(mode: str) -> dict[str, int | bool | None]:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKS_CHILD, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, int | bool | None] = json.loads(done.stdout)
    return result


def test_tuned_block_arrays_are_not_faulted_in_again_and_again() -> None:
    plain, tuned = _faults("plain"), _faults("tuned")
    pages = 50 * 24 * (512 << 10) // 4096  # what faulting every chunk in costs
    assert tuned["tuned"] is True
    assert isinstance(plain["faults"], int) and isinstance(tuned["faults"], int)
    assert tuned["faults"] < pages // 20
    assert plain["faults"] > 4 * tuned["faults"]


def test_tuning_twice_is_harmless() -> None:
    assert memory.tune_malloc() is True
    assert memory.tune_malloc() is True
