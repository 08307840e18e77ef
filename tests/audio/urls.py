"""The API alone, for tests that must not depend on the page routes being importable."""

from django.urls import include, path

urlpatterns = [path("api/", include("studio.api.urls"))]
