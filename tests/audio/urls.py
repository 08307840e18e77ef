"""The API alone (every app's API routes and the schema, as studio/urls.py mounts them), for
tests that must not depend on the page routes being importable."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/", include("studio.api.urls")),
    path("api/", include("sessions.api.urls")),
    path("api/", include("audio.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
]
