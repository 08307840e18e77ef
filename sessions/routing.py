"""Websocket routes (wired in studio/asgi.py inside AllowedHostsOriginValidator and
AuthMiddlewareStack)."""

from django.urls import re_path

from sessions.consumers import ProjectConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/projects/(?P<project_id>\d{1,18})/$", ProjectConsumer.as_asgi()),
]
