"""How the tests and benches start Studio's web server: the one command line they share, and
the free port it listens on."""

from __future__ import annotations

import socket
import sys

APP = "studio.asgi:application"


def daphne_command(port: int, *options: str, app: str = APP) -> list[str]:
    """Daphne through ``studio.serve`` (as compose and `make run` start it) on 127.0.0.1:port,
    with this interpreter; ``options`` are Daphne's own (compose's handshake timeout, say)."""
    return [sys.executable, "-m", "studio.serve", "-b", "127.0.0.1", "-p", str(port), *options, app]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
