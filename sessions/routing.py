"""Websocket routes (wired in studio/asgi.py inside SameOriginValidator and
AuthMiddlewareStack). The last route catches every other path, so none raises."""

from django.urls import re_path

from sessions.consumers import NoRouteConsumer, ProjectConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/projects/(?P<project_id>\d{1,18})/$", ProjectConsumer.as_asgi()),
    re_path(r"", NoRouteConsumer.as_asgi()),
]
