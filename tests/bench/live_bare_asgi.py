"""The peer for bench_live (W9 in docs/reliability.md): a bare Channels fan-out consumer,
served by Daphne exactly like Studio: join group "g", forward every group message as JSON."""

from __future__ import annotations

import os

from django.conf import settings

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": os.environ["REDIS_URL"], "max_connections": 1000}],
                    "capacity": 1000,
                },
            }
        },
    )
    import django

    django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path


class FanOut(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add("g", self.channel_name)
        await self.accept()

    async def fanout(self, message: dict) -> None:
        await self.send_json(message["frame"])

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard("g", self.channel_name)


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", FanOut.as_asgi())])})
