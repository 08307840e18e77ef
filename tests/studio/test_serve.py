"""studio.serve: Daphne's command line with upload-sized body pieces and in-memory chunk bodies
(the tus path's tests run through it end to end; the allocator's tuning is tested with the
engine, in tests/audio/engine/test_memory.py)."""

from __future__ import annotations

import io

from daphne.server import Server

from studio import serve


def _request() -> serve.StudioWebRequest:
    return serve.StudioWebRequest.__new__(serve.StudioWebRequest)


def test_a_chunk_sized_body_stays_in_memory_and_a_larger_or_unsized_one_goes_to_a_file() -> None:
    request = _request()
    request.gotLength(8 * 1024 * 1024)
    assert isinstance(request.content, io.BytesIO)
    for length in (serve.IN_MEMORY_BODY_BYTES + 1, None):
        request = _request()
        request.gotLength(length)
        assert not isinstance(request.content, io.BytesIO)
        request.content.write(b"x")
        request.content.close()


def test_the_server_hands_bodies_over_in_megabyte_pieces_unless_told_otherwise() -> None:
    endpoints = ["tcp:0"]
    assert Server(application=None, endpoints=endpoints).request_buffer_size == 8192  # Daphne's
    ours = serve.StudioServer(application=None, endpoints=endpoints)
    assert ours.request_buffer_size == 1024 * 1024
    told = serve.StudioServer(application=None, endpoints=endpoints, request_buffer_size=4096)
    assert told.request_buffer_size == 4096
    assert serve.StudioCommandLine.server_class is serve.StudioServer


def test_requests_are_built_by_our_factory() -> None:
    protocol = serve.StudioHTTPFactory(server=None).buildProtocol(("127.0.0.1", 1))
    assert protocol.requestFactory is serve.StudioWebRequest
