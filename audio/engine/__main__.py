"""Entry point for ``python -m audio.engine``; see ``audio.engine.cli``."""

import sys

from audio.engine.cli import main

if __name__ == "__main__":
    sys.exit(main())
