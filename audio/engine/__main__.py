"""Entry point for ``python -m audio.engine``; see ``audio.engine.cli``.

numpy's BLAS runs one thread unless told otherwise: the meters' many small matrix products
ran 2.7x slower with OpenBLAS's threads on two busy cores (a 4-minute master took 34 s
instead of 13 s). Set before numpy loads; an explicit environment value wins.
"""

import os
import sys

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from audio.engine.cli import main  # noqa: E402  (after the thread settings, on purpose)
from audio.engine.memory import tune_malloc  # noqa: E402

if __name__ == "__main__":
    tune_malloc()  # block arrays on the heap: audio.engine.memory says why
    sys.exit(main())
