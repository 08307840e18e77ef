"""Daphne tuned for upload chunks: `python -m studio.serve [daphne's options] APP`.

Every option of ``daphne`` works unchanged; compose, the prod smoke, `make run` and the tests
start Daphne through this module. An 8 MiB tus chunk cost Daphne more than the chunk's own
work (its SHA-256 and fsync), for three reasons, each removed here:

- Daphne hands a body to the application in pieces of its ``request_buffer_size``, 8 KiB by
  default and not settable from its command line: a chunk was about a thousand ASGI messages.
  Here a piece is ``REQUEST_BUFFER_BYTES``.
- Twisted spools a body over 100 kB to a temporary file, written and read back before Daphne
  sees it. Here a body up to ``IN_MEMORY_BODY_BYTES`` (a chunk and its margin) stays in memory;
  Daphne queues a whole body at once whatever the file, so this adds one body's copy at most.
- glibc maps each allocation over 128 kB afresh and unmaps it on free, so every megabyte piece
  of every chunk page-faulted its memory in again. Such pieces now come from the heap:
  ``audio.engine.memory.tune_malloc``, which importing the ``studio`` package runs (in
  ``studio/celery.py``) for every Studio process, this one included.

Per 8 MiB chunk on the upload bench: a median PATCH of 57-61 ms became 44-53 ms (the chunk's
SHA-256 and fsync take about 32 ms of it).
"""

from __future__ import annotations

import io
import tempfile
from typing import IO, Any

import daphne.server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.server import Server

REQUEST_BUFFER_BYTES = 1024 * 1024
IN_MEMORY_BODY_BYTES = 9 * 1024 * 1024  # UPLOAD_MAX_CHUNK_BYTES and headroom


class StudioWebRequest(WebRequest):
    """Daphne's request, keeping a body of up to ``IN_MEMORY_BODY_BYTES`` in memory."""

    def gotLength(self, length: int | None) -> None:
        self.content: IO[bytes]
        if length is not None and length <= IN_MEMORY_BODY_BYTES:
            self.content = io.BytesIO()
        else:
            self.content = tempfile.TemporaryFile()  # noqa: SIM115 (Twisted closes it)


class StudioHTTPFactory(HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = StudioWebRequest
        return protocol


class StudioServer(Server):
    """Daphne's server with pieces of ``REQUEST_BUFFER_BYTES``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("request_buffer_size", REQUEST_BUFFER_BYTES)
        super().__init__(*args, **kwargs)


class StudioCommandLine(CommandLineInterface):
    server_class = StudioServer


def main() -> None:
    # Server.run builds its factory from this module-level name: ours, with our request
    daphne.server.HTTPFactory = StudioHTTPFactory
    StudioCommandLine.entrypoint()


if __name__ == "__main__":
    main()
