from django.urls import path

from audio.api import uploads, views
from studio.api.routers import api_router

router = api_router()
router.register("assets", views.AssetViewSet, basename="api-asset")
router.register("stems", views.StemViewSet, basename="api-stem")
router.register("takes", views.TakeViewSet, basename="api-take")
router.register("mixes", views.MixViewSet, basename="api-mix")
router.register("references", views.ReferenceViewSet, basename="api-reference")
router.register("masters", views.MasterViewSet, basename="api-master")
router.register("jobs", views.JobViewSet, basename="api-job")

urlpatterns = [
    path(
        "uploads/",
        uploads.UploadViewSet.as_view({"post": "create"}),
        name="api-upload-list",
    ),
    path(
        "uploads/<uuid:upload_id>/",
        uploads.UploadViewSet.as_view(
            {"head": "status", "patch": "partial_update", "delete": "destroy"}
        ),
        name="api-upload-detail",
    ),
    path(
        "uploads/<uuid:upload_id>/duplicate/",
        uploads.UploadViewSet.as_view({"get": "duplicate"}),
        name="api-upload-duplicate",
    ),
    path(
        "uploads/<uuid:upload_id>/confirm/",
        uploads.UploadViewSet.as_view({"post": "confirm"}),
        name="api-upload-confirm",
    ),
    path(
        "uploads/<uuid:upload_id>/cancel/",
        uploads.UploadViewSet.as_view({"post": "cancel"}),
        name="api-upload-cancel",
    ),
    *router.urls,
]
