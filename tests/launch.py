"""How the tests and benches start Studio's web server: the one command line they share."""

from __future__ import annotations

import sys

APP = "studio.asgi:application"


def daphne_command(port: int, *options: str, app: str = APP) -> list[str]:
    """Daphne through ``studio.serve`` (as compose and `make run` start it) on 127.0.0.1:port,
    with this interpreter; ``options`` are Daphne's own (compose's handshake timeout, say)."""
    return [sys.executable, "-m", "studio.serve", "-b", "127.0.0.1", "-p", str(port), *options, app]
