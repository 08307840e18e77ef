"""ASGI entry point: HTTP goes to Django, websockets to the live layer inside an origin check."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django_asgi_app = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.core.exceptions import SuspiciousFileOperation  # noqa: E402
from django.http import FileResponse, Http404, HttpRequest  # noqa: E402


class StaticFiles(ASGIStaticFilesHandler):
    """Django's handler, except that a path escaping the static folder (`..%2f`) is a 404:
    Django raises SuspiciousFileOperation there, which the handler turned into a 500."""

    def serve(self, request: HttpRequest) -> FileResponse:
        try:
            return super().serve(request)
        except SuspiciousFileOperation:
            raise Http404("not found") from None


if settings.SERVE_STATIC:
    # Embedded mode and the tests: Daphne serves /static/ itself (production puts a proxy or
    # object storage in front, see docker/).
    django_asgi_app = StaticFiles(django_asgi_app)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from sessions.origin import SameOriginValidator  # noqa: E402
from sessions.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
