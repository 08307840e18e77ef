"""The one way an app's API urls are routed: DRF's router, without what Studio does not serve."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter


def api_router() -> DefaultRouter:
    """A router for one app's viewsets under `/api/`: trailing slashes, no API root view (the
    schema at `/api/schema/` lists every route), and no `.json` format-suffix twin of each route,
    which doubled the patterns every API and page request is matched against and served nothing
    the JSON routes do not."""
    router = DefaultRouter(trailing_slash=True)
    router.include_root_view = False
    router.include_format_suffixes = False
    return router
