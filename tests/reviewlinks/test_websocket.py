"""A review link's cookie opens no websocket: the project's socket wants a signed-in member."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from reviewlinks import public, services
from studio.asgi import application
from tests.audio.conftest import no_job_left_running  # noqa: F401
from tests.delivery.helpers import mastered_song

pytestmark = pytest.mark.django_db(transaction=True)


# Creating the link queues its watermark job, which the session's worker may pick up.
@pytest.mark.usefixtures("no_job_left_running")
def test_a_link_holder_gets_no_project_socket(scenario: Any) -> None:
    master = mastered_song(scenario, "Intro", seconds=2.0).masters.get()
    _link, token = services.link_create(
        actor=scenario.users["producer"],
        master=master,
        recipient_name="Ana",
        recipient_email="ana@label.test",
    )

    async def attempt() -> Any:
        headers = [
            (b"host", b"testserver"),
            (b"origin", b"http://testserver"),
            (b"cookie", f"{public.COOKIE}={token}".encode()),
        ]
        comm = WebsocketCommunicator(
            application, f"/ws/projects/{scenario.project.pk}/", headers=headers
        )
        connected, code = await comm.connect()
        if connected:
            message = await comm.receive_output(timeout=2)
            await comm.disconnect()
            return message.get("code") if message["type"] == "websocket.close" else "open"
        return code

    code = async_to_sync(attempt)()
    assert code == 4401
